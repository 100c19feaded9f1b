extension ObjectReading {
    /// A v1 ConfigMap: Flannel's `kube-flannel-cfg`, Cilium's `cilium-config` and Calico's `calico-config` are
    /// read; any other ConfigMap is ignored.
    func configMap(_ object: ManifestValue, apiVersion: String) throws(ManifestError) {
        let metadata = try self.metadata(object, kind: "ConfigMap", namespaced: true)
        let reference = ObjectReference(kind: "ConfigMap", namespace: metadata.namespace, name: metadata.name)
        let data = try object.field("data")
        switch metadata.name {
        case "kube-flannel-cfg":
            let netConf = try (data ?? object).required("net-conf.json", in: "Flannel's kube-flannel-cfg ConfigMap")
            try collector.register(reference, at: metadata.location)
            collector.set.flannel.append(try flannel(netConf.embeddedJSON(), reference: reference, location: metadata.location))
        case "cilium-config":
            try collector.register(reference, at: metadata.location)
            collector.set.cilium.append(try cilium(data, reference: reference, location: metadata.location))
        case "calico-config":
            try collector.register(reference, at: metadata.location)
            var mtu: Int?
            if let value = try data?.field("veth_mtu") { mtu = try number(inText: value, in: 0...65535) }
            collector.set.calicoInstallations.append(CalicoInstallation(source: reference, location: metadata.location, mtu: mtu))
        default:
            try collector.ignore(object, kind: "ConfigMap", apiVersion: apiVersion)
        }
    }

    // MARK: - Flannel

    /// `net-conf.json`, keys matched without regard to case as Go's encoding/json matches them.
    private func flannel(_ json: ManifestValue, reference: ObjectReference, location: ManifestLocation) throws(ManifestError) -> FlannelConfiguration {
        var fields: [String: ManifestValue] = [:]
        for (key, value) in try json.entries() { fields[key.lowercased()] = value }
        var configuration = FlannelConfiguration(configMap: reference, location: location, network: nil,
                                                 backend: .init(type: "udp"))
        if let value = fields["enableipv4"] { configuration.enableIPv4 = try value.bool() }
        if let value = fields["enableipv6"] {
            configuration.enableIPv6 = try value.bool()
            if configuration.enableIPv6 { warn(value, reference, "IPv6 is not simulated; the IPv4 network is used") }
        }
        if let value = fields["network"] { configuration.network = try cidr(value) }
        if let value = fields["ipv6network"] { configuration.ipv6Network = try cidr(value) }
        if configuration.enableIPv4 {
            guard let network = configuration.network else {
                throw .missingField(json.location, object: "Flannel's net-conf.json", field: "Network")
            }
            if let value = fields["subnetlen"] {
                let length = try value.int(in: 0...32)
                if length > 0 {
                    // pkg/subnet/config.go CheckNetworkConfig.
                    guard length <= 30 else { throw value.invalid("SubnetLen must be less than /31") }
                    guard length >= network.length + 2 else {
                        throw value.invalid("the network \(network) must hold at least four /\(length) subnets")
                    }
                    configuration.writtenSubnetLength = length
                }
            } else if network.length > 28 {
                throw fields["network"]?.invalid("the network is too small; flannel needs at least a /28") ?? json.invalid("network too small")
            }
        }
        if let backendValue = fields["backend"] {
            var backend: [String: ManifestValue] = [:]
            for (key, value) in try backendValue.entries() { backend[key.lowercased()] = value }
            guard let typeValue = backend["type"] else {
                throw .missingField(backendValue.location, object: "Flannel's Backend", field: "Type")
            }
            var settings = FlannelConfiguration.Backend(type: try typeValue.string())
            if let value = backend["vni"] { settings.writtenVNI = UInt32(try value.int(in: 0...0xFF_FFFF)) }
            if let value = backend["port"] { settings.writtenPort = UInt16(try value.int(in: 0...65535)) }
            if let value = backend["gbp"] { settings.gbp = try value.bool() }
            if let value = backend["directrouting"] {
                settings.directRouting = try value.bool()
                if settings.directRouting {
                    warn(value, reference, "DirectRouting is not simulated; traffic between nodes is always encapsulated")
                }
            }
            if let value = backend["mtu"] { settings.mtu = try value.int(in: 68...65535) }
            if let value = backend["learning"] { settings.learning = try value.bool() }
            if settings.type != "vxlan" {
                warn(typeValue, reference, "flannel backend '\(settings.type)' is not simulated; only vxlan is")
            }
            configuration.backend = settings
        } else {
            warn(json, reference, "no Backend: flannel then uses its 'udp' backend, which is not simulated; only vxlan is")
        }
        return configuration
    }

    // MARK: - Cilium

    private func cilium(_ data: ManifestValue?, reference: ObjectReference, location: ManifestLocation) throws(ManifestError) -> CiliumConfiguration {
        var configuration = CiliumConfiguration(configMap: reference, location: location)
        let legacy = try data?.field("tunnel")
        let legacyValue = try legacy?.string()
        if let legacy, let legacyValue, !["vxlan", "geneve", "disabled"].contains(legacyValue) {
            throw legacy.invalid("'\(legacyValue)' is not one of 'vxlan', 'geneve', 'disabled'")
        }
        if let value = try data?.field("routing-mode") {
            configuration.routingMode = try value.oneOf(CiliumConfiguration.RoutingMode.self)
        } else if legacyValue == "disabled" {
            configuration.routingMode = .native
        }
        if let value = try data?.field("tunnel-protocol") {
            configuration.tunnelProtocol = try value.oneOf(CiliumConfiguration.TunnelProtocol.self)
        } else if let legacyValue, let named = CiliumConfiguration.TunnelProtocol(rawValue: legacyValue) {
            configuration.tunnelProtocol = named
        }
        if let value = try data?.field("tunnel-port") {
            let port = try number(inText: value, in: 0...65535)
            configuration.writtenTunnelPort = port == 0 ? nil : UInt16(port)
        }
        if let value = try data?.field("mtu") {
            let mtu = try number(inText: value, in: 0...65535)
            configuration.mtu = mtu == 0 ? nil : mtu
        }
        if let value = try data?.field("cluster-pool-ipv4-cidr") {
            for piece in try value.string().split(whereSeparator: { $0 == " " || $0 == "," }) {
                guard let block = CIDR(piece) else { throw value.invalid("'\(piece)' is not a CIDR") }
                configuration.clusterPoolIPv4CIDRs.append(block)
            }
        }
        if let value = try data?.field("cluster-pool-ipv4-mask-size") {
            configuration.clusterPoolIPv4MaskSize = try number(inText: value, in: 1...32)
        }
        configuration.ipam = try (try data?.field("ipam"))?.string()
        let modeField = try data?.field("routing-mode") ?? legacy
        if configuration.routingMode == .native, let modeField {
            warn(modeField, reference, "native routing is not simulated; traffic between nodes is encapsulated in VXLAN")
        } else if configuration.tunnelProtocol == .geneve, let field = try data?.field("tunnel-protocol") ?? legacy {
            warn(field, reference, "Geneve is not simulated; VXLAN is used on the same port")
        }
        return configuration
    }

    // MARK: - Calico

    func calicoIPPool(_ object: ManifestValue) throws(ManifestError) -> CalicoIPPool {
        let metadata = try self.metadata(object, kind: "IPPool", namespaced: false)
        let spec = try object.required("spec", in: "an IPPool")
        var pool = CalicoIPPool(metadata: metadata, cidr: try cidr(try spec.required("cidr", in: "an IPPool")))
        if let value = try spec.field("blockSize") {
            pool.writtenBlockSize = try value.int(in: pool.cidr.isIPv6 ? 116...128 : 20...32)
        }
        let vxlan = try spec.field("vxlanMode")
        let ipip = try spec.field("ipipMode")
        if let vxlan { pool.vxlanMode = try vxlan.oneOf(CalicoEncapsulationMode.self) }
        if let ipip { pool.ipipMode = try ipip.oneOf(CalicoEncapsulationMode.self) }
        if pool.vxlanMode != .never, pool.ipipMode != .never, let ipip {
            throw ipip.invalid("Calico does not allow IPIP and VXLAN on the same pool")
        }
        if pool.ipipMode != .never, let ipip {
            warn(ipip, pool.reference, "IPIP encapsulation is not simulated; only VXLAN is")
        }
        if pool.cidr.isIPv6, let value = try spec.field("cidr") {
            warn(value, pool.reference, "IPv6 pools are not used; the simulated pod network is IPv4")
        }
        pool.natOutgoing = try (try spec.field("natOutgoing"))?.bool() ?? false
        pool.disabled = try (try spec.field("disabled"))?.bool() ?? false
        pool.nodeSelector = try (try spec.field("nodeSelector"))?.string()
        return pool
    }

    func felixConfiguration(_ object: ManifestValue) throws(ManifestError) -> FelixConfiguration {
        let metadata = try self.metadata(object, kind: "FelixConfiguration", namespaced: false)
        var felix = FelixConfiguration(metadata: metadata)
        guard let spec = try object.field("spec") else { return felix }
        felix.vxlanEnabled = try (try spec.field("vxlanEnabled"))?.bool()
        if let value = try spec.field("vxlanPort") { felix.writtenVXLANPort = try port(value) }
        if let value = try spec.field("vxlanVNI") { felix.writtenVXLANVNI = UInt32(try value.int(in: 1...0xFF_FFFF)) }
        if let value = try spec.field("vxlanMTU") {
            let mtu = try value.int(in: 0...65535)
            felix.vxlanMTU = mtu == 0 ? nil : mtu
        }
        if let value = try spec.field("vxlanMTUV6") {
            let mtu = try value.int(in: 0...65535)
            felix.vxlanMTUV6 = mtu == 0 ? nil : mtu
        }
        return felix
    }

    /// The Tigera operator's Installation: `spec.calicoNetwork.mtu` and `.ipPools`, whose `encapsulation`
    /// (IPIP, IPIPCrossSubnet, VXLAN, VXLANCrossSubnet, None; the operator's default is IPIP) becomes the pool's modes.
    func calicoInstallation(_ object: ManifestValue) throws(ManifestError) -> CalicoInstallation {
        let metadata = try self.metadata(object, kind: "Installation", namespaced: false)
        let reference = ObjectReference(kind: "Installation", namespace: nil, name: metadata.name)
        var installation = CalicoInstallation(source: reference, location: metadata.location, mtu: nil)
        guard let network = try (try object.field("spec"))?.field("calicoNetwork") else { return installation }
        if let value = try network.field("mtu") {
            let mtu = try value.int(in: 0...65535)
            installation.mtu = mtu == 0 ? nil : mtu
        }
        for (index, item) in (try (try network.field("ipPools"))?.list() ?? []).enumerated() {
            let name = try (try item.field("name"))?.string() ?? (index == 0 ? "default-ipv4-ippool" : "pool-\(index)")
            var pool = CalicoIPPool(metadata: ObjectMetadata(name: name, location: item.location),
                                    cidr: try cidr(try item.required("cidr", in: "an Installation IP pool")))
            if let value = try item.field("blockSize") { pool.writtenBlockSize = try value.int(in: pool.cidr.isIPv6 ? 116...128 : 20...32) }
            let encapsulationValue = try item.field("encapsulation")
            switch try encapsulationValue?.string() ?? "IPIP" {
            case "IPIP": pool.ipipMode = .always
            case "IPIPCrossSubnet": pool.ipipMode = .crossSubnet
            case "VXLAN": pool.vxlanMode = .always
            case "VXLANCrossSubnet": pool.vxlanMode = .crossSubnet
            case "None": break
            case let other:
                throw (encapsulationValue ?? item).invalid("'\(other)' is not one of 'IPIP', 'IPIPCrossSubnet', 'VXLAN', 'VXLANCrossSubnet', 'None'")
            }
            if pool.ipipMode != .never {
                warn(encapsulationValue ?? item, reference, "IPIP encapsulation is not simulated; only VXLAN is")
            }
            if let value = try item.field("natOutgoing") {
                let text = try value.string()
                guard text == "Enabled" || text == "Disabled" else { throw value.invalid("'\(text)' is not one of 'Enabled', 'Disabled'") }
                pool.natOutgoing = text == "Enabled"
            } else {
                pool.natOutgoing = true
            }
            pool.nodeSelector = try (try item.field("nodeSelector"))?.string()
            installation.ipPools.append(pool)
        }
        return installation
    }
}
