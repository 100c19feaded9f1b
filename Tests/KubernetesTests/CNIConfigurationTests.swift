import Kubernetes
import PacketWire
import Testing

@Suite("Reading CNI configurations")
struct CNIConfigurationTests {
    /// Flannel's ConfigMap as its kube-flannel.yml manifest ships it, with the values changed.
    static let flannelConfigMap = """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: kube-flannel-cfg
          namespace: kube-flannel
          labels: {app: flannel, tier: node}
        data:
          cni-conf.json: |
            {"name": "cbr0", "cniVersion": "0.3.1"}
          net-conf.json: |
            {
              "Network": "10.244.0.0/16",
              "SubnetLen": 25,
              "Backend": {
                "Type": "vxlan",
                "VNI": 42,
                "Port": 4789,
                "GBP": true
              }
            }
        """

    @Test("Flannel: net-conf.json's Network, SubnetLen and Backend (Type, VNI, Port, GBP)")
    func flannel() throws {
        let set = try readManifests(Self.flannelConfigMap)
        let flannel = try #require(set.flannel.first)
        #expect(flannel.configMap == ObjectReference(kind: "ConfigMap", namespace: "kube-flannel", name: "kube-flannel-cfg"))
        #expect(flannel.network == CIDR("10.244.0.0/16"))
        #expect(flannel.subnetLength == 25)
        #expect(flannel.enableIPv4 && !flannel.enableIPv6)
        #expect(flannel.backend.type == "vxlan")
        #expect(flannel.backend.vni == 42)
        #expect(flannel.backend.port == 4789)
        #expect(flannel.backend.gbp)
        #expect(!flannel.backend.directRouting)
        #expect(set.warnings.isEmpty)
        #expect(set.ignored.isEmpty)
    }

    @Test("Flannel defaults: VNI 1, the kernel's port 8472, a /24 per node; keys in any case, as Go's JSON decoder reads them")
    func flannelDefaults() throws {
        let set = try readManifests("""
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: kube-flannel-cfg, namespace: kube-system}
            data:
              net-conf.json: '{"network": "10.244.0.0/16", "backend": {"type": "vxlan"}}'
            """)
        let flannel = try #require(set.flannel.first)
        #expect(flannel.backend.vni == 1)
        #expect(flannel.backend.writtenVNI == nil)
        #expect(flannel.backend.port == 8472)
        #expect(flannel.subnetLength == 24)
    }

    @Test("Flannel's SubnetLen default for a small network is the network's length + 2")
    func flannelSmallNetwork() throws {
        let set = try readManifests("""
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: kube-flannel-cfg}
            data:
              net-conf.json: '{"Network": "10.0.0.0/26", "Backend": {"Type": "vxlan", "Port": 0}}'
            """)
        #expect(set.flannel.first?.subnetLength == 28)
        #expect(set.flannel.first?.backend.port == 8472)
    }

    @Test("Flannel: a host-gw backend, DirectRouting, IPv6 and a missing Backend are warned about")
    func flannelWarnings() throws {
        let set = try readManifests("""
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: kube-flannel-cfg}
            data:
              net-conf.json: |
                {"Network": "10.244.0.0/16", "EnableIPv6": true, "IPv6Network": "fd00::/56",
                 "Backend": {"Type": "host-gw", "DirectRouting": true}}
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: kube-flannel-cfg, namespace: other}
            data:
              net-conf.json: '{"Network": "10.244.0.0/16"}'
            """)
        #expect(set.flannel.count == 2)
        #expect(set.flannel[0].ipv6Network == CIDR("fd00::/56"))
        #expect(set.flannel[1].backend.type == "udp")
        #expect(set.warnings.map(\.message) == [
            "IPv6 is not simulated; the IPv4 network is used",
            "DirectRouting is not simulated; traffic between nodes is always encapsulated",
            "flannel backend 'host-gw' is not simulated; only vxlan is",
            "no Backend: flannel then uses its 'udp' backend, which is not simulated; only vxlan is",
        ])
        // Positions inside the block scalar are positions in the file.
        #expect(set.warnings[1].location == ManifestLocation(file: "test.yaml", line: 7, column: 54))
        #expect(set.warnings[2].location == ManifestLocation(file: "test.yaml", line: 7, column: 26))
    }

    @Test("Flannel: an error inside net-conf.json is reported at its line and column in the file")
    func flannelErrorInBlock() {
        let error = manifestError("""
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: kube-flannel-cfg}
            data:
              net-conf.json: |
                {
                  "Network": "10.244.0.0/16",
                  "Backend": {
                    "Type": "vxlan",
                    "VNI": "one"
                  }
                }
            """)
        #expect(error?.code == .wrongType)
        #expect(error?.location == ManifestLocation(file: "test.yaml", line: 10, column: 16))
    }

    @Test("Flannel: JSON that does not parse is reported inside the block", arguments: [
        ("{\n  \"Network\": \"10.244.0.0/16\"\n  \"Backend\": {}\n}", 8),
        ("{\n  \"Network\": \"10.244.0.0/16\",\n  \"Backend\": {\"Type\": \"vxlan\"\n", 9),
    ])
    func flannelBrokenJSON(json: String, line: Int) {
        let indented = json.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }.joined(separator: "\n")
        let error = manifestError("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kube-flannel-cfg}\ndata:\n  net-conf.json: |\n" + indented + "\n")
        #expect(error?.code == .invalidYAML)
        #expect(error?.location.line == line, "\(error?.description ?? "")")
        #expect(error?.message.hasPrefix("invalid YAML: data.net-conf.json is not valid JSON") == true)
    }

    @Test("Flannel refuses what flannel refuses: no Network, SubnetLen /31, a network too small for four subnets")
    func flannelErrors() {
        for (json, message) in [
            (#"{"Backend": {"Type": "vxlan"}}"#, "needs a 'Network' field"),
            (#"{"Network": "10.0.0.0/16", "SubnetLen": 31}"#, "SubnetLen must be less than /31"),
            (#"{"Network": "10.0.0.0/24", "SubnetLen": 25}"#, "must hold at least four /25 subnets"),
            (#"{"Network": "10.0.0.0/29"}"#, "too small"),
            (#"{"Network": "10.0.0.0/16", "Backend": {"VNI": 1}}"#, "needs a 'Type' field"),
        ] {
            let error = manifestError("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kube-flannel-cfg}\ndata:\n  net-conf.json: '\(json)'\n")
            #expect(error?.message.contains(message) == true, "\(error?.description ?? "")")
            #expect(error?.location.line == 5)
        }
        let missing = manifestError("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kube-flannel-cfg}\ndata: {}\n")
        #expect(missing?.code == .missingField)
    }

    @Test("Calico IPPool: cidr, blockSize, vxlanMode, ipipMode, natOutgoing, disabled, nodeSelector; defaults")
    func calicoPool() throws {
        let set = try readManifests("""
            apiVersion: projectcalico.org/v3
            kind: IPPool
            metadata: {name: pool-a}
            spec:
              cidr: 10.244.0.0/16
              blockSize: 24
              vxlanMode: Always
              natOutgoing: true
              disabled: false
              nodeSelector: zone == "a"
            ---
            apiVersion: crd.projectcalico.org/v1
            kind: IPPool
            metadata: {name: pool-b}
            spec:
              cidr: 10.245.0.0/16
            """)
        #expect(set.calicoIPPools.map(\.blockSize) == [24, 26])
        #expect(set.calicoIPPools.map(\.vxlanMode) == [.always, .never])
        #expect(set.calicoIPPools.map(\.ipipMode) == [.never, .never])
        #expect(set.calicoIPPools[0].nodeSelector == "zone == \"a\"")
        #expect(set.calicoIPPools[0].natOutgoing && !set.calicoIPPools[1].natOutgoing)
    }

    @Test("Calico: IPIP is warned about; IPIP and VXLAN on one pool is refused, as Calico refuses it")
    func calicoEncapsulation() throws {
        let set = try readManifests("""
            apiVersion: crd.projectcalico.org/v1
            kind: IPPool
            metadata: {name: p}
            spec: {cidr: 10.244.0.0/16, ipipMode: CrossSubnet}
            """)
        #expect(set.calicoIPPools.first?.ipipMode == .crossSubnet)
        #expect(set.warnings.map(\.field) == ["spec.ipipMode"])
        let error = manifestError("""
            apiVersion: crd.projectcalico.org/v1
            kind: IPPool
            metadata: {name: p}
            spec: {cidr: 10.244.0.0/16, ipipMode: Always, vxlanMode: Always}
            """)
        #expect(error?.message.contains("IPIP and VXLAN") == true)
        let mode = manifestError("""
            apiVersion: crd.projectcalico.org/v1
            kind: IPPool
            metadata: {name: p}
            spec: {cidr: 10.244.0.0/16, vxlanMode: Sometimes}
            """)
        #expect(mode?.location == ManifestLocation(file: "test.yaml", line: 4, column: 40))
    }

    @Test("FelixConfiguration: vxlanPort, vxlanVNI, vxlanMTU; defaults 4789 and 4096")
    func felix() throws {
        let set = try readManifests("""
            apiVersion: projectcalico.org/v3
            kind: FelixConfiguration
            metadata: {name: default}
            spec: {vxlanEnabled: true, vxlanPort: 4790, vxlanVNI: 7, vxlanMTU: 1400, vxlanMTUV6: 0}
            ---
            apiVersion: projectcalico.org/v3
            kind: FelixConfiguration
            metadata: {name: node.node-1}
            spec: {logSeverityScreen: Debug}
            """)
        #expect(set.felixConfigurations.map(\.vxlanPort) == [4790, 4789])
        #expect(set.felixConfigurations.map(\.vxlanVNI) == [7, 4096])
        #expect(set.felixConfigurations[0].vxlanMTU == 1400)
        #expect(set.felixConfigurations[0].vxlanMTUV6 == nil)
        #expect(set.felixConfigurations[0].vxlanEnabled == true)
        #expect(set.felixConfigurations[1].vxlanEnabled == nil)
    }

    @Test("Calico's operator Installation (mtu, ipPools with encapsulation) and calico-config's veth_mtu")
    func calicoInstallation() throws {
        let set = try readManifests("""
            apiVersion: operator.tigera.io/v1
            kind: Installation
            metadata: {name: default}
            spec:
              calicoNetwork:
                mtu: 1450
                ipPools:
                - {cidr: 10.244.0.0/16, encapsulation: VXLANCrossSubnet, natOutgoing: Disabled, blockSize: 26}
                - {name: second, cidr: 10.245.0.0/16}
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: calico-config, namespace: kube-system}
            data: {veth_mtu: "1410", typha_service_name: none}
            """)
        #expect(set.calicoInstallations.map(\.mtu) == [1450, 1410])
        let pools = set.calicoInstallations[0].ipPools
        #expect(pools.map(\.metadata.name) == ["default-ipv4-ippool", "second"])
        #expect(pools[0].vxlanMode == .crossSubnet && pools[0].ipipMode == .never && !pools[0].natOutgoing)
        // The operator's default encapsulation is IPIP, which is warned about.
        #expect(pools[1].ipipMode == .always && pools[1].natOutgoing)
        #expect(set.warnings.count == 1)
    }

    @Test("Cilium: routing-mode, tunnel-protocol, tunnel-port, mtu and the pool, all text in the ConfigMap")
    func cilium() throws {
        let set = try readManifests("""
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: cilium-config, namespace: kube-system}
            data:
              routing-mode: tunnel
              tunnel-protocol: vxlan
              tunnel-port: "8473"
              mtu: "1450"
              ipam: cluster-pool
              cluster-pool-ipv4-cidr: 10.0.0.0/8
              cluster-pool-ipv4-mask-size: "24"
              enable-policy: default
            """)
        let cilium = try #require(set.cilium.first)
        #expect(cilium.routingMode == .tunnel && cilium.tunnelProtocol == .vxlan)
        #expect(cilium.tunnelPort == 8473)
        #expect(cilium.mtu == 1450)
        #expect(cilium.clusterPoolIPv4CIDRs == [CIDR("10.0.0.0/8")].compactMap { $0 })
        #expect(cilium.clusterPoolIPv4MaskSize == 24)
        #expect(cilium.ipam == "cluster-pool")
        #expect(set.warnings.isEmpty)
    }

    @Test("Cilium defaults (tunnel, vxlan, 8472) and the older tunnel key (geneve: 6081; disabled: native)")
    func ciliumDefaultsAndLegacy() throws {
        let set = try readManifests("""
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: cilium-config, namespace: kube-system}
            data: {mtu: "0"}
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: cilium-config, namespace: cilium}
            data: {tunnel: geneve}
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: cilium-config, namespace: other}
            data: {tunnel: disabled}
            """)
        #expect(set.cilium.map(\.routingMode) == [.tunnel, .tunnel, .native])
        #expect(set.cilium.map(\.tunnelProtocol) == [.vxlan, .geneve, .vxlan])
        #expect(set.cilium.map(\.tunnelPort) == [8472, 6081, 8472])
        #expect(set.cilium[0].mtu == nil)
        #expect(set.warnings.map(\.message) == [
            "Geneve is not simulated; VXLAN is used on the same port",
            "native routing is not simulated; traffic between nodes is encapsulated in VXLAN",
        ])
    }

    @Test("Cilium: values that are not what Cilium accepts are errors at their place")
    func ciliumErrors() {
        let error = manifestError("""
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: cilium-config}
            data:
              tunnel-port: "vxlan"
            """)
        #expect(error?.location == ManifestLocation(file: "test.yaml", line: 5, column: 16))
        let legacy = manifestError("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cilium-config}\ndata: {tunnel: ipip}\n")
        #expect(legacy?.message.contains("'ipip' is not one of") == true)
    }
}
