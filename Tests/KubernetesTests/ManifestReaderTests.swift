import Foundation
import Kubernetes
import PacketWire
import Testing

/// Reads `yaml`, or records the error it throws.
func readManifests(_ yaml: String, file: String = "test.yaml") throws -> ManifestSet {
    try ManifestReader.read(yaml: yaml, file: file)
}

/// The error reading `yaml` throws; nil (and an issue) when it reads.
func manifestError(_ yaml: String, file: String = "test.yaml") -> ManifestError? {
    do {
        _ = try ManifestReader.read(yaml: yaml, file: file)
        Issue.record("expected an error reading:\n\(yaml)")
        return nil
    } catch {
        return error
    }
}

@Suite("Reading manifests")
struct ManifestReaderTests {
    // MARK: - Files, folders, documents, lists

    @Test("a folder of kubectl output: every file read in path order, kind: List expanded, unmodelled kinds ignored")
    func calicoClusterFolder() throws {
        let folder = FixtureFiles.root.appendingPathComponent("manifests/calico-cluster").path
        let set = try ManifestReader.read(paths: [folder])
        #expect(set.files.map { ($0 as NSString).lastPathComponent } == ["apps.yaml", "calico.yaml", "nodes.yaml"])
        #expect(set.nodes.map(\.metadata.name) == ["node-1", "node-2", "node-3"])
        let node1 = try #require(set.nodes.first)
        #expect(node1.internalAddress == IPAddress("192.168.10.11"))
        #expect(node1.podCIDRs == [CIDR("10.244.0.0/24")].compactMap { $0 })
        #expect(node1.addresses.map(\.type) == ["InternalIP", "Hostname"])
        #expect(node1.calico?.ipv4Address?.subnet == CIDR("192.168.10.0/24"))
        #expect(node1.calico?.vxlanTunnelAddress == IPAddress("10.244.36.64"))
        #expect(node1.calico?.vxlanTunnelMAC == MACAddress("66:1f:8a:93:2c:01"))
        #expect(node1.metadata.labels["node-role.kubernetes.io/control-plane"] == "")
        #expect(set.nodes[2].calico?.ipv4Address?.subnet == CIDR("192.168.20.0/24"))
        #expect(set.calicoIPPools.first?.vxlanMode == .crossSubnet)
        #expect(set.calicoIPPools.first?.natOutgoing == true)
        #expect(set.felixConfigurations.first?.vxlanPort == 4789)
        #expect(set.felixConfigurations.first?.vxlanVNI == 4096)
        #expect(set.ignored.map(\.object.description) == ["Secret kube-system/calico-node-token", "ClusterRole calico-node"])
        #expect(set.ignored.first?.location.line == 26)
        #expect(set.workloads.map(\.reference.description) == ["Deployment shop/frontend", "StatefulSet shop/db"])
        #expect(set.networkPolicies.map(\.qualifiedName) == ["shop/db-from-frontend"])
        #expect(set.warnings.isEmpty)
    }

    @Test("the same folder read twice gives the same set")
    func deterministic() throws {
        let folder = FixtureFiles.root.appendingPathComponent("manifests/calico-cluster").path
        let first = try ManifestReader.read(paths: [folder])
        let second = try ManifestReader.read(paths: [folder])
        #expect(first.nodes == second.nodes && first.workloads == second.workloads && first.ignored == second.ignored)
    }

    @Test("a folder skips hidden files and files that are not YAML or JSON, and descends into sub-folders")
    func folderWalk() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("k8s-reader-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent(".git"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let namespace = { (name: String) in "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: \(name)\n" }
        try namespace("b").write(to: folder.appendingPathComponent("b.yml"), atomically: true, encoding: .utf8)
        try namespace("a").write(to: folder.appendingPathComponent("sub/a.yaml"), atomically: true, encoding: .utf8)
        try #"{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "c"}}"#
            .write(to: folder.appendingPathComponent("c.json"), atomically: true, encoding: .utf8)
        try "not: yaml: at: all:".write(to: folder.appendingPathComponent("README.md"), atomically: true, encoding: .utf8)
        try namespace("hidden").write(to: folder.appendingPathComponent(".hidden.yaml"), atomically: true, encoding: .utf8)
        try namespace("git").write(to: folder.appendingPathComponent(".git/x.yaml"), atomically: true, encoding: .utf8)
        let set = try ManifestReader.read(paths: [folder.path])
        #expect(set.namespaces.map(\.name) == ["b", "c", "a"])
    }

    @Test("a path that does not exist is an error naming it")
    func missingPath() {
        #expect(throws: ManifestError.self) { try ManifestReader.read(paths: ["/nonexistent/k8s"]) }
        do {
            _ = try ManifestReader.read(paths: ["/nonexistent/k8s"])
        } catch {
            #expect(error.code == .unreadable)
            #expect(error.description.contains("/nonexistent/k8s"))
        }
    }

    @Test("multi-document files: empty documents and comment-only documents are skipped")
    func multiDocument() throws {
        let set = try readManifests("""
            ---
            # nothing here
            ---
            apiVersion: v1
            kind: Namespace
            metadata:
              name: one
            ---
            ---
            apiVersion: v1
            kind: Namespace
            metadata:
              name: two
            ...
            """)
        #expect(set.namespaces.map(\.name) == ["one", "two"])
        #expect(set.namespaces[1].metadata.location == ManifestLocation(file: "test.yaml", line: 10, column: 1))
    }

    @Test("typed lists (PodList) expand like kind: List; nested lists too")
    func typedLists() throws {
        let set = try readManifests("""
            apiVersion: v1
            kind: PodList
            items:
            - apiVersion: v1
              kind: Pod
              metadata: {name: a, namespace: x}
              spec: {containers: [{name: c}]}
            - apiVersion: v1
              kind: List
              items:
              - apiVersion: v1
                kind: Namespace
                metadata: {name: x}
            """)
        #expect(set.pods.map(\.reference.description) == ["Pod x/a"])
        #expect(set.namespaces.map(\.name) == ["x"])
    }

    // MARK: - Core objects

    @Test("Namespace: labels, with kubernetes.io/metadata.name set to the name whatever is written")
    func namespaceLabels() throws {
        let set = try readManifests("""
            apiVersion: v1
            kind: Namespace
            metadata:
              name: shop
              labels:
                team: web
                kubernetes.io/metadata.name: wrong
            """)
        #expect(set.namespaces[0].labels == ["team": "web", "kubernetes.io/metadata.name": "shop"])
    }

    @Test("Pod: labels, nodeName, hostNetwork, every container's ports with names and protocols, podIPs, phase, owners")
    func pod() throws {
        let set = try readManifests("""
            apiVersion: v1
            kind: Pod
            metadata:
              name: web-7d9c-abcde
              labels: {app: web, "pod-template-hash": 7d9c}
              ownerReferences:
              - apiVersion: apps/v1
                kind: ReplicaSet
                name: web-7d9c
                uid: 1
            spec:
              nodeName: node-2
              initContainers:
              - name: proxy
                restartPolicy: Always
                ports:
                - {containerPort: 15001, name: envoy}
              containers:
              - name: app
                ports:
                - containerPort: 8080
                  name: http
                - containerPort: 53
                  protocol: UDP
                  name: dns
                - containerPort: 9000
                  protocol: SCTP
            status:
              phase: Running
              hostIP: 192.168.10.12
              podIP: 10.244.1.7
              podIPs:
              - ip: 10.244.1.7
            """)
        let pod = try #require(set.pods.first)
        #expect(pod.metadata.namespace == "default")
        #expect(pod.metadata.labels == ["app": "web", "pod-template-hash": "7d9c"])
        #expect(pod.metadata.owners == [ObjectReference(kind: "ReplicaSet", namespace: "default", name: "web-7d9c")])
        #expect(pod.spec.nodeName == "node-2")
        #expect(pod.spec.hostNetwork == false)
        #expect(pod.spec.containerNames == ["app"])
        #expect(pod.spec.ports.map(\.description) == ["envoy 15001/TCP", "http 8080/TCP", "dns 53/UDP", "9000/SCTP"])
        #expect(pod.spec.port(named: "dns", protocol: .udp) == 53)
        #expect(pod.spec.port(named: "dns", protocol: .tcp) == nil)
        #expect(pod.addresses == [IPAddress("10.244.1.7")].compactMap { $0 })
        #expect(pod.hostAddress == IPAddress("192.168.10.12"))
        #expect(pod.phase == "Running")
    }

    @Test("Pod: hostNetwork and hostPort read; hostPort and an IPv6 primary address warned about")
    func podWarnings() throws {
        let set = try readManifests("""
            apiVersion: v1
            kind: Pod
            metadata: {name: p, namespace: n}
            spec:
              hostNetwork: true
              containers:
              - name: c
                ports:
                - {containerPort: 80, hostPort: 8080}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: q, namespace: n}
            spec: {containers: [{name: c}]}
            status:
              podIPs: [{ip: "fd00::5"}]
            """)
        #expect(set.pods[0].spec.hostNetwork)
        #expect(set.pods[0].spec.ports.first?.hostPort == 8080)
        #expect(set.warnings.map(\.field) == ["spec.containers[0].ports[0].hostPort", "status.podIPs"])
        #expect(set.warnings[0].object.description == "Pod n/p")
        #expect(set.warnings[0].location == ManifestLocation(file: "test.yaml", line: 9, column: 37))
        #expect(set.warnings[0].description.hasPrefix("test.yaml:9:37: warning: Pod n/p spec.containers[0].ports[0].hostPort:"))
    }

    @Test("Node: Flannel's annotations, backend-data JSON with VtepMAC and VNI, public-ip-overwrite preferred")
    func flannelNode() throws {
        let set = try readManifests("""
            apiVersion: v1
            kind: Node
            metadata:
              name: node-a
              annotations:
                flannel.alpha.coreos.com/backend-data: '{"VNI":1,"VtepMAC":"aa:2b:3c:4d:5e:6f"}'
                flannel.alpha.coreos.com/backend-type: vxlan
                flannel.alpha.coreos.com/kube-subnet-manager: "true"
                flannel.alpha.coreos.com/public-ip: 192.168.10.1
                flannel.alpha.coreos.com/public-ip-overwrite: 203.0.113.1
            spec:
              podCIDR: 10.244.0.0/24
            """)
        let flannel = try #require(set.nodes.first?.flannel)
        #expect(flannel.vni == 1)
        #expect(flannel.vtepMAC == MACAddress("aa:2b:3c:4d:5e:6f"))
        #expect(flannel.backendType == "vxlan")
        #expect(flannel.publicIP == IPAddress("203.0.113.1"))
        #expect(set.nodes.first?.calico == nil)
        #expect(set.warnings.isEmpty)
    }

    @Test("Node: a host-gw Flannel backend is read and warned about")
    func flannelHostGateway() throws {
        let set = try readManifests("""
            apiVersion: v1
            kind: Node
            metadata:
              name: n
              annotations:
                flannel.alpha.coreos.com/backend-data: "null"
                flannel.alpha.coreos.com/backend-type: host-gw
            """)
        #expect(set.nodes[0].flannel?.backendType == "host-gw")
        #expect(set.nodes[0].flannel?.vtepMAC == nil)
        #expect(set.warnings.map(\.field) == ["metadata.annotations.flannel.alpha.coreos.com/backend-type"])
    }

    @Test("Node: an error inside the backend-data JSON points at its place in the file")
    func backendDataErrorLocation() {
        let error = manifestError("""
            apiVersion: v1
            kind: Node
            metadata:
              name: n
              annotations:
                flannel.alpha.coreos.com/backend-data: '{"VNI":1,"VtepMAC":"zz:2b:3c:4d:5e:6f"}'
            """)
        #expect(error?.code == .invalidValue)
        // The quote opens at column 44; the MAC's value starts 20 characters into the JSON.
        #expect(error?.location == ManifestLocation(file: "test.yaml", line: 6, column: 64))
        #expect(error?.message.contains("'zz:2b:3c:4d:5e:6f' is not a MAC address") == true)
    }

    // MARK: - Workloads

    @Test("every workload kind: replicas (defaults), selector, template labels and ports, serviceName, schedule")
    func workloads() throws {
        let template = """
              template:
                metadata: {labels: {app: w}}
                spec: {containers: [{name: c, ports: [{containerPort: 80, name: http}]}]}
            """
        let selector = "  selector: {matchLabels: {app: w}}\n"
        let set = try readManifests("""
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: d, namespace: n}
            spec:
            \(selector)\(template)
            ---
            apiVersion: apps/v1
            kind: ReplicaSet
            metadata: {name: r, namespace: n}
            spec:
              replicas: 4
            \(selector)\(template)
            ---
            apiVersion: apps/v1
            kind: StatefulSet
            metadata: {name: s, namespace: n}
            spec:
              serviceName: s-headless
              replicas: 2
            \(selector)\(template)
            ---
            apiVersion: apps/v1
            kind: DaemonSet
            metadata: {name: ds, namespace: n}
            spec:
            \(selector)\(template)
            ---
            apiVersion: batch/v1
            kind: Job
            metadata: {name: j, namespace: n}
            spec:
              parallelism: 3
              completions: 6
            \(template)
            ---
            apiVersion: batch/v1
            kind: CronJob
            metadata: {name: cj, namespace: n}
            spec:
              schedule: "*/5 * * * *"
              jobTemplate:
                spec:
                  template:
                    metadata: {labels: {app: w}}
                    spec: {containers: [{name: c}]}
            """)
        #expect(set.workloads.map(\.kind) == [.deployment, .replicaSet, .statefulSet, .daemonSet, .job, .cronJob])
        #expect(set.workloads.map(\.replicas) == [1, 4, 2, nil, 3, 1])
        #expect(set.workloads[0].selector == LabelSelector(matchLabels: ["app": "w"]))
        #expect(set.workloads[0].template.labels == ["app": "w"])
        #expect(set.workloads[0].template.spec.ports.first?.name == "http")
        #expect(set.workloads[2].serviceName == "s-headless")
        #expect(set.workloads[4].completions == 6)
        #expect(set.workloads[4].selector == nil)
        #expect(set.workloads[5].schedule == "*/5 * * * *")
    }

    @Test("a Deployment whose selector does not select its template is refused, as the API server refuses it")
    func selectorMismatch() {
        let error = manifestError("""
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: d}
            spec:
              selector:
                matchLabels: {app: web}
              template:
                metadata: {labels: {app: api}}
                spec: {containers: [{name: c}]}
            """)
        #expect(error?.code == .invalidValue)
        #expect(error?.location.line == 6)
        #expect(error?.message.contains("does not match the template's labels") == true)
    }

    @Test("an apps/v1 workload needs a selector")
    func selectorRequired() {
        let error = manifestError("""
            apiVersion: apps/v1
            kind: StatefulSet
            metadata: {name: s}
            spec:
              template:
                spec: {containers: [{name: c}]}
            """)
        #expect(error?.code == .missingField)
        #expect(error?.description == "test.yaml:5:3: an apps/v1 StatefulSet needs a 'spec.selector' field")
    }

    // MARK: - Services and EndpointSlices

    @Test("Service: type, cluster IPs, ports with targetPort by number and name, nodePort, policies, affinity")
    func service() throws {
        let set = try readManifests("""
            apiVersion: v1
            kind: Service
            metadata: {name: web, namespace: shop}
            spec:
              type: NodePort
              clusterIP: 10.96.0.20
              clusterIPs: [10.96.0.20]
              selector: {app: web}
              externalTrafficPolicy: Local
              internalTrafficPolicy: Local
              sessionAffinity: ClientIP
              sessionAffinityConfig: {clientIP: {timeoutSeconds: 600}}
              externalIPs: [203.0.113.9]
              ports:
              - {name: http, port: 80, targetPort: http, nodePort: 30080}
              - {name: metrics, port: 9100, targetPort: 9100, protocol: TCP}
              - {name: dns, port: 53, protocol: UDP}
            """)
        let service = try #require(set.services.first)
        #expect(service.type == .nodePort)
        #expect(service.clusterIPs == [IPAddress("10.96.0.20")].compactMap { $0 })
        #expect(!service.isHeadless)
        #expect(service.selector == ["app": "web"])
        #expect(service.externalTrafficPolicy == .local)
        #expect(service.internalTrafficPolicy == .local)
        #expect(service.sessionAffinity == .clientIP(timeoutSeconds: 600))
        #expect(service.externalIPs == [IPAddress("203.0.113.9")].compactMap { $0 })
        #expect(service.ports.map(\.description) == ["http 80→http/TCP", "metrics 9100→9100/TCP", "dns 53→53/UDP"])
        #expect(service.ports[0].nodePort == 30080)
        #expect(service.ports[0].targetPort == .name("http"))
        #expect(set.warnings.isEmpty)
    }

    @Test("Service defaults: ClusterIP, Cluster policies, no affinity; headless; selector-less")
    func serviceDefaults() throws {
        let set = try readManifests("""
            apiVersion: v1
            kind: Service
            metadata: {name: db}
            spec:
              clusterIP: None
              selector: {app: db}
              ports: [{port: 5432}]
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: external}
            spec:
              ports: [{port: 443}]
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: np}
            spec:
              type: NodePort
              ports: [{port: 80}]
            """)
        #expect(set.services[0].isHeadless)
        #expect(set.services[0].clusterIPs.isEmpty)
        #expect(set.services[0].type == .clusterIP)
        #expect(set.services[0].externalTrafficPolicy == nil)
        #expect(set.services[0].internalTrafficPolicy == .cluster)
        #expect(set.services[0].sessionAffinity == .none)
        #expect(set.services[0].ports[0].targetPort == .number(5432))
        #expect(set.services[1].selector == nil)
        #expect(set.services[2].externalTrafficPolicy == .cluster)
    }

    @Test("LoadBalancer and ExternalName Services are read and warned about")
    func serviceWarnings() throws {
        let set = try readManifests("""
            apiVersion: v1
            kind: Service
            metadata: {name: lb}
            spec:
              type: LoadBalancer
              allocateLoadBalancerNodePorts: false
              ports: [{port: 80, nodePort: 31000}]
            status:
              loadBalancer:
                ingress: [{ip: 198.51.100.7}]
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: alias}
            spec:
              type: ExternalName
              externalName: db.example.com
            """)
        #expect(set.services[0].allocateLoadBalancerNodePorts == false)
        #expect(set.services[0].loadBalancerIngress == [IPAddress("198.51.100.7")].compactMap { $0 })
        #expect(set.services[1].externalName == "db.example.com")
        #expect(set.warnings.map(\.object.description) == ["Service default/lb", "Service default/alias"])
        #expect(set.warnings.allSatisfy { $0.field == "spec.type" })
    }

    @Test("Service errors: unnamed port among several, nodePort on a ClusterIP Service, numeric-text targetPort")
    func serviceErrors() {
        let unnamed = manifestError("""
            apiVersion: v1
            kind: Service
            metadata: {name: s}
            spec:
              ports:
              - {name: a, port: 80}
              - {port: 81}
            """)
        #expect(unnamed?.code == .missingField)
        #expect(unnamed?.location == ManifestLocation(file: "test.yaml", line: 7, column: 5))
        let nodePort = manifestError("""
            apiVersion: v1
            kind: Service
            metadata: {name: s}
            spec:
              ports: [{port: 80, nodePort: 30000}]
            """)
        #expect(nodePort?.message.contains("NodePort or LoadBalancer") == true)
        // `targetPort: "8080"` is a string to the API, and a port name must contain a letter.
        let quoted = manifestError("""
            apiVersion: v1
            kind: Service
            metadata: {name: s}
            spec:
              ports: [{port: 80, targetPort: "8080"}]
            """)
        #expect(quoted?.code == .invalidValue)
        #expect(quoted?.location == ManifestLocation(file: "test.yaml", line: 5, column: 34))
    }

    @Test("EndpointSlice: service name, endpoints with conditions, node and target, ports")
    func endpointSlice() throws {
        let set = try readManifests("""
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata:
              name: web-abc12
              namespace: shop
              labels: {kubernetes.io/service-name: web}
            addressType: IPv4
            endpoints:
            - addresses: [10.244.1.7]
              conditions: {ready: true, serving: true, terminating: false}
              nodeName: node-2
              zone: zone-a
              targetRef: {kind: Pod, name: web-7d9c-abcde, namespace: shop}
            - addresses: [10.244.2.9]
              conditions: {ready: false}
            ports:
            - {name: http, port: 8080, protocol: TCP}
            """)
        let slice = try #require(set.endpointSlices.first)
        #expect(slice.serviceName == "web")
        #expect(slice.addressType == .ipv4)
        #expect(slice.endpoints.map(\.addresses) == [["10.244.1.7"], ["10.244.2.9"]])
        #expect(slice.endpoints[0].ready == true && slice.endpoints[0].terminating == false)
        #expect(slice.endpoints[0].target == ObjectReference(kind: "Pod", namespace: "shop", name: "web-7d9c-abcde"))
        #expect(slice.endpoints[0].nodeName == "node-2")
        #expect(slice.endpoints[1].ready == false)
        #expect(slice.endpoints[1].serving == nil)
        #expect(slice.ports.first?.port == 8080)
    }

    // MARK: - NetworkPolicy

    @Test("NetworkPolicy: the whole spec, with policyTypes written and defaulted")
    func networkPolicy() throws {
        let set = try readManifests("""
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: api, namespace: shop}
            spec:
              podSelector:
                matchLabels: {app: api}
                matchExpressions:
                - {key: tier, operator: In, values: [backend, worker]}
                - {key: canary, operator: DoesNotExist}
              ingress:
              - from:
                - podSelector: {matchLabels: {app: web}}
                  namespaceSelector: {matchLabels: {team: web}}
                - namespaceSelector: {matchExpressions: [{key: env, operator: NotIn, values: [dev]}]}
                - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16, 10.2.0.0/16]}
                ports:
                - {port: 8080}
                - {port: http, protocol: TCP}
                - {port: 9000, endPort: 9100, protocol: UDP}
                - {protocol: SCTP}
              egress:
              - to: [{podSelector: {}}]
              - {}
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: ingress-only, namespace: shop}
            spec:
              podSelector: {}
              egress: []
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: egress-only, namespace: shop}
            spec:
              podSelector: {}
              policyTypes: [Egress]
            """)
        let policy = try #require(set.networkPolicies.first)
        #expect(policy.podSelector.matchLabels == ["app": "api"])
        #expect(policy.podSelector.matchExpressions == [
            LabelRequirement(key: "tier", operator: .in, values: ["backend", "worker"]),
            LabelRequirement(key: "canary", operator: .doesNotExist),
        ])
        let rule = try #require(policy.ingress.first)
        #expect(rule.peers == [
            .pods(podSelector: LabelSelector(matchLabels: ["app": "web"]), namespaceSelector: LabelSelector(matchLabels: ["team": "web"])),
            .pods(podSelector: nil, namespaceSelector: LabelSelector(matchExpressions: [LabelRequirement(key: "env", operator: .notIn, values: ["dev"])])),
            .ipBlock(IPBlock(cidr: try #require(CIDR("10.0.0.0/8")), except: [CIDR("10.1.0.0/16"), CIDR("10.2.0.0/16")].compactMap { $0 })),
        ])
        #expect(rule.ports == [
            NetworkPolicyPort(protocol: .tcp, port: .number(8080)),
            NetworkPolicyPort(protocol: .tcp, port: .name("http")),
            NetworkPolicyPort(protocol: .udp, port: .number(9000), endPort: 9100),
            NetworkPolicyPort(protocol: .sctp),
        ])
        #expect(rule.location == ManifestLocation(file: "test.yaml", line: 11, column: 5))
        #expect(policy.egress.count == 2)
        #expect(policy.egress[1] == NetworkPolicyRule(location: policy.egress[1].location))
        #expect(policy.writtenPolicyTypes == nil)
        #expect(policy.policyTypes == [.ingress, .egress])
        #expect(set.networkPolicies[1].policyTypes == [.ingress])
        #expect(set.networkPolicies[2].policyTypes == [.egress])
    }

    @Test("NetworkPolicy errors are refused where the API server refuses them", arguments: [
        ("- from: [{}]", "a peer must give a podSelector, a namespaceSelector or an ipBlock", 7, 12),
        ("- from: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]", "may not combine ipBlock", 7, 12),
        ("- from: [{ipBlock: {cidr: 10.0.0.0/8, except: [192.168.0.0/16]}}]", "must be a strict subset", 7, 50),
        ("- from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.0/8]}}]", "must be a strict subset", 7, 50),
        ("- from: [{ipBlock: {cidr: 10.0.0.0}}]", "is not a CIDR", 7, 29),
        ("- ports: [{port: http, endPort: 90}]", "endPort cannot be used with a named port", 7, 35),
        ("- ports: [{endPort: 90}]", "endPort needs a numeric port", 7, 23),
        ("- ports: [{port: 90, endPort: 80}]", "endPort 80 is below port 90", 7, 33),
        ("- ports: [{port: 70000}]", "outside 1...65535", 7, 20),
        ("- ports: [{port: Web_Port}]", "not a valid port name", 7, 20),
        ("- ports: [{protocol: ICMP}]", "'ICMP' is not one of 'TCP', 'UDP', 'SCTP'", 7, 24),
        ("- from: [{podSelector: {matchExpressions: [{key: a, operator: In}]}}]", "operator In needs at least one value", 7, 46),
        ("- from: [{podSelector: {matchExpressions: [{key: a, operator: Exists, values: [x]}]}}]", "takes no values", 7, 81),
        ("- from: [{podSelector: {matchExpressions: [{key: a, operator: Equals, values: [x]}]}}]", "'Equals' is not one of", 7, 65),
        ("- from: [{podSelector: {matchLabels: {app: \"has space\"}}}]", "not a valid label value", 7, 46),
    ])
    func networkPolicyErrors(rule: String, message: String, line: Int, column: Int) {
        let error = manifestError("""
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: p, namespace: n}
            spec:
              podSelector: {}
              ingress:
              \(rule)
            """)
        #expect(error?.message.contains(message) == true, "\(error?.description ?? "no error")")
        #expect(error?.location == ManifestLocation(file: "test.yaml", line: line, column: column), "\(error?.description ?? "")")
    }

    @Test("policyTypes values are Ingress and Egress, each once")
    func policyTypesErrors() {
        let unknown = manifestError("""
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: p}
            spec:
              policyTypes: [Ingress, Both]
            """)
        #expect(unknown?.location == ManifestLocation(file: "test.yaml", line: 5, column: 26))
        let twice = manifestError("""
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: p}
            spec:
              policyTypes: [Egress, Egress]
            """)
        #expect(twice?.message.contains("listed twice") == true)
    }

    // MARK: - Scenario documents, ignored objects

    @Test("an overlay-sim/v1 Scenario document is handed on untouched, with its marks")
    func scenarioDocument() throws {
        let set = try readManifests("""
            apiVersion: v1
            kind: Namespace
            metadata: {name: x}
            ---
            apiVersion: overlay-sim/v1
            kind: Scenario
            underlay:
              links:
              - {between: [node-1, tor], mtu: 1400}
            """)
        let scenario = try #require(set.scenarios.first)
        #expect(scenario.location == ManifestLocation(file: "test.yaml", line: 5, column: 1))
        #expect(scenario.node["underlay"]?["links"]?.array().first?["mtu"]?.int == 1400)
        #expect(scenario.node["underlay"]?.mark?.line == 8)  // the mapping under the key starts on the next line
        #expect(set.ignored.isEmpty)
    }

    @Test("objects nobody models are listed as ignored, never errors: even ones without a name")
    func ignored() throws {
        let set = try readManifests("""
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: app-settings, namespace: shop}
            data: {mode: fast}
            ---
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: {name: web, namespace: shop}
            ---
            apiVersion: example.com/v1
            kind: Widget
            spec: {size: 3}
            ---
            apiVersion: v1
            kind: Node
            metadata: {name: n1}
            """)
        #expect(set.ignored.map(\.description) == [
            "test.yaml:1:1: ignored ConfigMap shop/app-settings (v1)",
            "test.yaml:6:1: ignored Ingress shop/web (networking.k8s.io/v1)",
            "test.yaml:10:1: ignored Widget (unnamed) (example.com/v1)",
        ])
        #expect(set.nodes.count == 1)
    }

    // MARK: - Errors with line and column

    @Test("errors name file, line, column and what was wrong", arguments: [
        ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: [a\n", ManifestError.Code.invalidYAML, 5, 1),
        ("apiVersion: v1\nkind: Namespace\n", .missingField, 1, 1),
        ("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: 42\n", .wrongType, 4, 9),
        ("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n  labels:\n    port: 80\n", .wrongType, 6, 11),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    ports:\n    - containerPort: eighty\n", .wrongType, 8, 22),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostNetwork: maybe\n", .wrongType, 5, 16),
        ("apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  type: Cluster\n", .invalidValue, 5, 9),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nstatus:\n  podIP: 10.0.0.300\nspec: {}\n", .invalidValue, 5, 10),
        ("- 1\n- 2\n", .notAnObject, 1, 1),
        ("name: my-scenario\ncluster: {}\n", .notAnObject, 1, 1),
        ("apiVersion: overlay-sim/v1\nkind: Cluster\n", .invalidValue, 2, 7),
    ])
    func located(yaml: String, code: ManifestError.Code, line: Int, column: Int) {
        let error = manifestError(yaml, file: "cluster/pods.yaml")
        #expect(error?.code == code, "\(error?.description ?? "")")
        #expect(error?.location == ManifestLocation(file: "cluster/pods.yaml", line: line, column: column), "\(error?.description ?? "")")
        #expect(error?.description.hasPrefix("cluster/pods.yaml:\(line):\(column): ") == true)
    }

    @Test("an unquoted number where text belongs says to quote it")
    func quoteHint() {
        let error = manifestError("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n  labels:\n    version: 1.5\n")
        #expect(error?.message == "metadata.labels.version must be text (write \"1.5\" in quotes)")
    }

    @Test("the same object twice, in two files, is an error naming both places")
    func duplicate() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("k8s-dup-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\nspec: {}\n"
        try pod.write(to: folder.appendingPathComponent("1.yaml"), atomically: true, encoding: .utf8)
        try ("# again\n" + pod).write(to: folder.appendingPathComponent("2.yaml"), atomically: true, encoding: .utf8)
        do {
            _ = try ManifestReader.read(paths: [folder.path])
            Issue.record("a duplicate was accepted")
        } catch {
            #expect(error.code == .duplicateObject)
            #expect(error.location.line == 2)
            #expect(error.location.file.hasSuffix("2.yaml"))
            #expect(error.message.hasPrefix("Pod x/a is defined twice; the first is at "))
            #expect(error.message.hasSuffix("1.yaml:1:1"))
        }
    }

    @Test("a Pod and a Service may share a name; a Pod in another namespace too")
    func notDuplicates() throws {
        let set = try readManifests("""
            apiVersion: v1
            kind: Pod
            metadata: {name: a, namespace: x}
            spec: {}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: a, namespace: x}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: a, namespace: y}
            spec: {}
            """)
        #expect(set.pods.count == 2 && set.services.count == 1)
    }
}
