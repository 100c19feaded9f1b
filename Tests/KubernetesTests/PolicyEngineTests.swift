import Kubernetes
import PacketWire
import Testing

/// A small cluster written as manifests: namespaces `front` (team=web) and `back` (team=data), and pods
/// front/web (app=web, 10.1.0.1), front/admin (app=admin, 10.1.0.2), back/api (app=api, 10.2.0.1, ports
/// http 8080/TCP, grpc 9090/TCP, dns 53/UDP), back/db (app=db, 10.2.0.2, port http 5432/TCP), plus the
/// policies given.
func engine(policies: String) throws -> PolicyEngine {
    let cluster = """
        apiVersion: v1
        kind: Namespace
        metadata: {name: front, labels: {team: web}}
        ---
        apiVersion: v1
        kind: Namespace
        metadata: {name: back, labels: {team: data}}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: web, namespace: front, labels: {app: web}}
        spec: {containers: [{name: c}]}
        status: {podIP: 10.1.0.1}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: admin, namespace: front, labels: {app: admin}}
        spec: {containers: [{name: c}]}
        status: {podIP: 10.1.0.2}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: api, namespace: back, labels: {app: api}}
        spec:
          containers:
          - name: c
            ports:
            - {name: http, containerPort: 8080}
            - {name: grpc, containerPort: 9090}
            - {name: dns, containerPort: 53, protocol: UDP}
        status: {podIP: 10.2.0.1}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: db, namespace: back, labels: {app: db}}
        spec: {containers: [{name: c, ports: [{name: http, containerPort: 5432}]}]}
        status: {podIP: 10.2.0.2}
        """
    let set = try readManifests(cluster + "\n---\n" + policies, file: "policies.yaml")
    return PolicyEngine(PolicyCluster(manifests: set))
}

extension PolicyEngine {
    /// `from` and `to` are `namespace/name` or an address.
    func decide(_ from: String, _ to: String, _ protocol: TransportProtocol, _ port: UInt16) -> PolicyDecision {
        decide(connection(from, to, `protocol`, port))
    }

    func decide(_ from: String, _ to: String, _ port: UInt16) -> PolicyDecision {
        decide(connection(from, to, .tcp, port))
    }

    func allows(_ from: String, _ to: String, _ protocol: TransportProtocol, _ port: UInt16) -> Bool {
        allows(connection(from, to, `protocol`, port))
    }

    func allows(_ from: String, _ to: String, _ port: UInt16) -> Bool {
        allows(connection(from, to, .tcp, port))
    }

    func connection(_ from: String, _ to: String, _ protocol: TransportProtocol, _ port: UInt16) -> PolicyConnection {
        PolicyConnection(from: endpoint(from), to: endpoint(to), protocol: `protocol`, port: port)
    }

    func endpoint(_ name: String) -> PolicyEndpoint {
        let parts = name.split(separator: "/")
        if parts.count == 2, let pod = pod(namespace: String(parts[0]), name: String(parts[1])) { return .pod(pod) }
        return endpoint(for: IPAddress(name) ?? .v4(.any))
    }
}

@Suite("NetworkPolicy semantics")
struct PolicyEngineTests {
    @Test("no policy: everything connects, and nothing is isolated")
    func noPolicies() throws {
        let engine = try engine(policies: "")
        let decision = engine.decide("front/web", "back/api", 8080)
        #expect(decision.allowed)
        #expect(decision.description == "front/web → back/api TCP 8080 allowed: no policy selects front/web for Egress, so egress from it is not restricted; no policy selects back/api for Ingress, so ingress to it is not restricted")
    }

    @Test("podSelector alone selects pods of the policy's own namespace")
    func podSelectorScope() throws {
        let engine = try engine(policies: """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: api-from-db, namespace: back}
            spec:
              podSelector: {matchLabels: {app: api}}
              ingress: [{from: [{podSelector: {}}]}]
            """)
        #expect(engine.allows("back/db", "back/api", 8080))
        #expect(!engine.allows("front/web", "back/api", 8080))
        #expect(engine.allows("front/web", "back/db", 5432), "back/db is not selected")
    }

    @Test("podSelector and namespaceSelector in one peer: both must hold; as two peers: either")
    func andVersusOr() throws {
        let one = try engine(policies: """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: and, namespace: back}
            spec:
              podSelector: {matchLabels: {app: api}}
              ingress:
              - from: [{namespaceSelector: {matchLabels: {team: web}}, podSelector: {matchLabels: {app: web}}}]
            """)
        #expect(one.allows("front/web", "back/api", 8080))
        #expect(!one.allows("front/admin", "back/api", 8080))
        #expect(!one.allows("back/db", "back/api", 8080))
        let two = try engine(policies: """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: or, namespace: back}
            spec:
              podSelector: {matchLabels: {app: api}}
              ingress:
              - from: [{namespaceSelector: {matchLabels: {team: web}}}, {podSelector: {matchLabels: {app: web}}}]
            """)
        #expect(two.allows("front/web", "back/api", 8080))
        #expect(two.allows("front/admin", "back/api", 8080), "every pod of a team=web namespace")
        #expect(!two.allows("back/db", "back/api", 8080), "app=web is looked for in back, where there is none")
    }

    @Test("matchExpressions: In, NotIn, Exists, DoesNotExist on pods and namespaces")
    func expressions() throws {
        let engine = try engine(policies: """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: exprs, namespace: back}
            spec:
              podSelector: {matchExpressions: [{key: app, operator: In, values: [api, db]}]}
              ingress:
              - from:
                - namespaceSelector: {matchExpressions: [{key: team, operator: NotIn, values: [data]}]}
                  podSelector: {matchExpressions: [{key: app, operator: Exists}, {key: canary, operator: DoesNotExist}]}
            """)
        #expect(engine.allows("front/web", "back/api", 8080))
        #expect(engine.allows("front/admin", "back/db", 5432))
        #expect(!engine.allows("back/api", "back/db", 5432), "team=data is excluded by NotIn")
    }

    @Test("ipBlock with except, for addresses outside the cluster and for pods' addresses")
    func ipBlocks() throws {
        let engine = try engine(policies: """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: cidr, namespace: back}
            spec:
              podSelector: {matchLabels: {app: api}}
              ingress:
              - from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.2/32, 10.9.0.0/16]}}]
            """)
        #expect(engine.allows("203.0.113.5", "back/api", 8080) == false)
        #expect(engine.allows("10.200.0.1", "back/api", 8080))
        #expect(!engine.allows("10.9.1.1", "back/api", 8080))
        #expect(engine.allows("front/web", "back/api", 8080), "10.1.0.1 lies in the block")
        #expect(!engine.allows("front/admin", "back/api", 8080), "10.1.0.2 is excepted")
        // The address a packet carries is what an ipBlock sees.
        let web = try #require(engine.pod(namespace: "front", name: "web"))
        let api = try #require(engine.pod(namespace: "back", name: "api"))
        let spoofed = PolicyConnection(from: .pod(web, address: IPAddress("10.9.0.1")), to: .pod(api), protocol: .tcp, port: 8080)
        #expect(!engine.allows(spoofed))
    }

    @Test("egress to an address outside the cluster; ingress to such an address is not NetworkPolicy's")
    func external() throws {
        let engine = try engine(policies: """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: out, namespace: front}
            spec:
              podSelector: {}
              policyTypes: [Egress]
              egress:
              - to: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}}]
                ports: [{port: 443}]
            """)
        #expect(engine.allows("front/web", "198.51.100.1", 443))
        #expect(!engine.allows("front/web", "198.51.100.1", 80))
        #expect(!engine.allows("front/web", "back/api", 443))
        let decision = engine.decide("front/web", "198.51.100.1", .tcp, 443)
        if case .notAPod = decision.ingress.outcome {} else { Issue.record("ingress to an address is not a pod's") }
        #expect(engine.endpoint(for: IPAddress("10.2.0.1") ?? .v4(.any)).pod == engine.pod(namespace: "back", name: "api"))
    }

    @Test("named ports resolve against each destination pod's own container ports")
    func namedPortsIngress() throws {
        let engine = try engine(policies: """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: http-only, namespace: back}
            spec:
              podSelector: {}
              ingress: [{ports: [{port: http}]}]
            """)
        #expect(engine.allows("front/web", "back/api", 8080))
        #expect(!engine.allows("front/web", "back/api", 5432), "api's http is 8080")
        #expect(engine.allows("front/web", "back/db", 5432))
        #expect(!engine.allows("front/web", "back/db", 8080), "db's http is 5432")
        #expect(!engine.allows("front/web", "back/api", .udp, 8080), "the named port is TCP by default")
    }

    @Test("a named port's protocol must be the container port's protocol")
    func namedPortProtocol() throws {
        let engine = try engine(policies: """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: dns, namespace: back}
            spec:
              podSelector: {matchLabels: {app: api}}
              ingress: [{ports: [{port: dns, protocol: UDP}, {port: grpc, protocol: UDP}]}]
            """)
        #expect(engine.allows("front/web", "back/api", .udp, 53))
        #expect(!engine.allows("front/web", "back/api", .tcp, 53))
        #expect(!engine.allows("front/web", "back/api", .udp, 9090), "grpc is a TCP port")
    }

    @Test("egress named ports resolve against the destination pod; to an address they match nothing")
    func namedPortsEgress() throws {
        let engine = try engine(policies: """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: out-http, namespace: front}
            spec:
              podSelector: {matchLabels: {app: web}}
              egress: [{ports: [{port: http}]}]
            """)
        #expect(engine.allows("front/web", "back/api", 8080))
        #expect(engine.allows("front/web", "back/db", 5432))
        #expect(!engine.allows("front/web", "back/api", 5432))
        #expect(!engine.allows("front/web", "192.0.2.1", 8080))
        #expect(engine.allows("front/admin", "192.0.2.1", 8080), "admin is not selected")
    }

    @Test("endPort: the range port...endPort, both ends included")
    func portRange() throws {
        let engine = try engine(policies: """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: range, namespace: back}
            spec:
              podSelector: {}
              ingress: [{ports: [{port: 8000, endPort: 8080}, {port: 9090, endPort: 9090, protocol: TCP}]}]
            """)
        for port: UInt16 in [8000, 8042, 8080, 9090] { #expect(engine.allows("front/web", "back/api", port), "\(port)") }
        for port: UInt16 in [7999, 8081, 9089, 9091] { #expect(!engine.allows("front/web", "back/api", port), "\(port)") }
    }

    @Test("protocols: a port entry matches only its protocol; a protocol without a port matches all its ports")
    func protocols() throws {
        let engine = try engine(policies: """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: protos, namespace: back}
            spec:
              podSelector: {}
              ingress: [{ports: [{port: 53, protocol: UDP}, {protocol: SCTP}]}]
            """)
        #expect(engine.allows("front/web", "back/api", .udp, 53))
        #expect(!engine.allows("front/web", "back/api", .tcp, 53))
        #expect(engine.allows("front/web", "back/api", .sctp, 7))
        #expect(engine.allows("front/web", "back/api", .sctp, 65535))
        #expect(!engine.allows("front/web", "back/api", .udp, 54))
    }

    @Test("policyTypes defaulting: Ingress always, Egress only when egress rules exist")
    func policyTypeDefaults() throws {
        let engine = try engine(policies: """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: egress-rules, namespace: front}
            spec:
              podSelector: {matchLabels: {app: web}}
              egress: [{to: [{podSelector: {}}]}]
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: empty-egress, namespace: front}
            spec:
              podSelector: {matchLabels: {app: admin}}
              egress: []
            """)
        // web: isolated both ways (no ingress rules, egress only within front).
        #expect(!engine.allows("front/admin", "front/web", 80))
        #expect(engine.allows("front/web", "front/admin", 80) == false, "admin is isolated for ingress with no rules")
        #expect(!engine.allows("front/web", "back/api", 8080), "web's egress only reaches front")
        // admin: `egress: []` does not make it Egress; ingress isolation only.
        #expect(engine.allows("front/admin", "back/api", 8080))
    }

    @Test("several policies are a union; each direction is isolated by its own policies")
    func union() throws {
        let engine = try engine(policies: """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: from-web, namespace: back}
            spec:
              podSelector: {matchLabels: {app: api}}
              ingress: [{from: [{namespaceSelector: {}, podSelector: {matchLabels: {app: web}}}], ports: [{port: 8080}]}]
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: from-admin, namespace: back}
            spec:
              podSelector: {matchLabels: {app: api}}
              ingress: [{from: [{namespaceSelector: {}, podSelector: {matchLabels: {app: admin}}}], ports: [{port: 9090}]}]
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: web-egress, namespace: front}
            spec:
              podSelector: {matchLabels: {app: web}}
              policyTypes: [Egress]
              egress: [{ports: [{port: 9090}]}]
            """)
        #expect(!engine.allows("front/web", "back/api", 8080), "ingress allows it, web's egress does not")
        #expect(!engine.allows("front/web", "back/api", 9090), "web's egress allows it, api's ingress does not")
        #expect(engine.allows("front/admin", "back/api", 9090))
        #expect(!engine.allows("front/admin", "back/api", 8080))
        let decision = engine.decide("front/web", "back/api", .tcp, 8080)
        #expect(decision.deniedDirection == .egress)
        #expect(decision.decidingPolicies == ["front/web-egress"])
        if case .admitted(let rule) = decision.ingress.outcome {
            #expect(rule.policy.qualifiedName == "back/from-web" && rule.ruleNumber == 1)
        } else {
            Issue.record("ingress should be admitted by back/from-web")
        }
    }

    @Test("host-network pods are not selected by policies and not matched by pod selectors")
    func hostNetwork() throws {
        let set = try readManifests("""
            apiVersion: v1
            kind: Pod
            metadata: {name: agent, namespace: back, labels: {app: api}}
            spec: {hostNetwork: true, containers: [{name: c}]}
            status: {podIP: 192.168.10.5}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: api, namespace: back, labels: {app: api}}
            spec: {containers: [{name: c}]}
            status: {podIP: 10.2.0.1}
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: deny, namespace: back}
            spec: {podSelector: {}, ingress: [{from: [{podSelector: {matchLabels: {app: api}}}]}]}
            """)
        let engine = PolicyEngine(PolicyCluster(manifests: set))
        let agent = try #require(engine.pod(namespace: "back", name: "agent"))
        let api = try #require(engine.pod(namespace: "back", name: "api"))
        #expect(engine.allows(PolicyConnection(from: .pod(api), to: .pod(agent), protocol: .tcp, port: 80)))
        #expect(!engine.allows(PolicyConnection(from: .pod(agent), to: .pod(api), protocol: .tcp, port: 80)))
        #expect(engine.pod(at: IPAddress("192.168.10.5") ?? .v4(.any)) == nil)
        let decision = engine.decide(PolicyConnection(from: .pod(api), to: .pod(agent), protocol: .tcp, port: 80))
        #expect(decision.ingress.sentence == "ingress to back/agent is not subject to NetworkPolicy (host network)")
    }

    @Test("namespaces no manifest declares still carry kubernetes.io/metadata.name")
    func implicitNamespaces() throws {
        let cluster = PolicyCluster(pods: [
            PolicyPod(namespace: "x", name: "a", labels: ["pod": "a"], addresses: [.v4(IPv4Address(10, 0, 0, 1))]),
            PolicyPod(namespace: "y", name: "b", labels: ["pod": "b"], addresses: [.v4(IPv4Address(10, 0, 0, 2))]),
        ], policies: [
            NetworkPolicy(metadata: ObjectMetadata(name: "from-y", namespace: "x", location: ManifestLocation(file: "-", line: 1, column: 1)),
                          ingress: [NetworkPolicyRule(peers: [.pods(podSelector: nil, namespaceSelector: LabelSelector(matchLabels: [NamespaceManifest.nameLabel: "y"]))])]),
        ])
        #expect(cluster.namespaces["y"] == [NamespaceManifest.nameLabel: "y"])
        let engine = PolicyEngine(cluster)
        #expect(engine.allows("y/b", "x/a", 80))
        #expect(!engine.allows("10.9.9.9", "x/a", 80))
    }

    // MARK: - Explanations

    @Test("a default deny names the policy and says it allows nothing")
    func explainDefaultDeny() throws {
        let engine = try engine(policies: """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: deny-all, namespace: back}
            spec: {podSelector: {}, policyTypes: [Ingress]}
            """)
        let decision = engine.decide("front/web", "back/api", .tcp, 80)
        #expect(!decision.allowed)
        #expect(decision.deniedDirection == .ingress)
        #expect(decision.decidingPolicies == ["back/deny-all"])
        #expect(decision.description == "front/web → back/api TCP 80 dropped: back/api is selected by back/deny-all (Ingress), which allows no ingress")
    }

    @Test("a drop lists every policy selecting the pod and why each rule misses: peer, port, or both")
    func explainMisses() throws {
        let engine = try engine(policies: """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: api-in, namespace: back}
            spec:
              podSelector: {matchLabels: {app: api}}
              ingress:
              - from: [{podSelector: {matchLabels: {app: db}}}]
              - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: front}}}]
                ports: [{port: 9090}]
              - from: [{ipBlock: {cidr: 192.168.0.0/16}}]
                ports: [{port: dns, protocol: UDP}]
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: deny, namespace: back}
            spec: {podSelector: {}, ingress: []}
            """)
        let decision = engine.decide("front/web", "back/api", .tcp, 8080)
        #expect(!decision.allowed)
        #expect(decision.decidingPolicies == ["back/api-in", "back/deny"])
        #expect(decision.ingress.sentence == "back/api is selected by back/api-in (Ingress); none of its ingress rules allows front/web on TCP 8080: rule 1 allows from pods app=db in back, not front/web; rule 2 allows front/web only on TCP 9090; rule 3 allows from 192.168.0.0/16 on UDP dns; and back/api is selected by back/deny (Ingress), which allows no ingress")
        guard case .denied(let refusals) = decision.ingress.outcome else {
            Issue.record("expected a denial")
            return
        }
        #expect(refusals.map { $0.misses.map { [$0.peerMatches, $0.portMatches] } } == [[[false, true], [true, false], [false, false]], []])
    }

    @Test("an egress drop is told from the source's side")
    func explainEgress() throws {
        let engine = try engine(policies: """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: dns-only, namespace: front}
            spec:
              podSelector: {}
              policyTypes: [Egress]
              egress:
              - to: [{namespaceSelector: {matchLabels: {team: data}}, podSelector: {matchLabels: {app: api}}}]
                ports: [{port: 53, protocol: UDP}]
            """)
        let decision = engine.decide("front/web", "back/db", .tcp, 5432)
        #expect(decision.description == "front/web → back/db TCP 5432 dropped: front/web is selected by front/dns-only (Egress); none of its egress rules allows back/db on TCP 5432: rule 1 allows to pods app=api in namespaces team=data on UDP 53")
        let allowed = engine.decide("front/web", "back/api", .udp, 53)
        #expect(allowed.allowed)
        #expect(allowed.egress.sentence == "egress from front/web is allowed by front/dns-only egress rule 1 (to pods app=api in namespaces team=data on UDP 53)")
        #expect(allowed.decidingPolicies == ["front/dns-only"])
    }

    @Test("the fast answer and the explained answer agree on thousands of connections (seeded)")
    func fastAndExplainedAgree() throws {
        let engine = try engine(policies: """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: a, namespace: back}
            spec:
              podSelector: {matchLabels: {app: api}}
              ingress:
              - from: [{namespaceSelector: {matchLabels: {team: web}}}]
                ports: [{port: http}, {port: 9000, endPort: 9100}]
              - from: [{ipBlock: {cidr: 10.0.0.0/9, except: [10.1.0.0/24]}}]
                ports: [{protocol: UDP}]
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: b, namespace: front}
            spec:
              podSelector: {matchExpressions: [{key: app, operator: NotIn, values: [admin]}]}
              egress:
              - to: [{podSelector: {}, namespaceSelector: {}}]
                ports: [{port: http}, {port: dns, protocol: UDP}]
            """)
        var random = SplitMix64(seed: 11)
        let ends = ["front/web", "front/admin", "back/api", "back/db", "10.1.0.9", "10.100.3.4", "172.16.0.1"]
        let protocols: [TransportProtocol] = [.tcp, .udp, .sctp]
        let ports: [UInt16] = [53, 80, 5432, 8080, 9000, 9050, 9100, 9101]
        var allowed = 0
        for _ in 0..<5000 {
            let connection = engine.connection(ends[Int(random.next() % 7)], ends[Int(random.next() % 7)],
                                               protocols[Int(random.next() % 3)], ports[Int(random.next() % 8)])
            let fast = engine.allows(connection)
            let decision = engine.decide(connection)
            #expect(fast == decision.allowed)
            #expect(engine.admits(connection, .egress) == decision.egress.admits)
            #expect(engine.admits(connection, .ingress) == decision.ingress.admits)
            if fast { allowed += 1 }
        }
        // Both outcomes occur, so the agreement is not trivial.
        #expect(allowed > 100 && allowed < 4900)
    }
}
