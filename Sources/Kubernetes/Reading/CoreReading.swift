import PacketWire

extension ObjectReading {
    // MARK: - Node

    func node(_ object: ManifestValue) throws(ManifestError) -> NodeManifest {
        let metadata = try self.metadata(object, kind: "Node", namespaced: false)
        var node = NodeManifest(metadata: metadata)
        let reference = node.reference
        if let spec = try object.field("spec") {
            if let cidrs = try spec.field("podCIDRs") {
                for item in try cidrs.list() { node.podCIDRs.append(try cidr(item)) }
            } else if let single = try spec.field("podCIDR") {
                node.podCIDRs = [try cidr(single)]
            }
            for (index, block) in node.podCIDRs.enumerated() where block.isIPv6 {
                let field = try (try spec.field("podCIDRs"))?.list()[index] ?? spec
                warn(field, reference, "IPv6 pod CIDR \(block) is not used: the simulated pod network is IPv4")
            }
        }
        if let addresses = try (try object.field("status"))?.field("addresses") {
            for item in try addresses.list() {
                let type = try item.required("type", in: "a node address").string()
                let address = try item.required("address", in: "a node address")
                let text = try address.string()
                if type.hasSuffix("IP"), IPAddress(text) == nil {
                    throw address.invalid("'\(text)' is not an IP address")
                }
                node.addresses.append(NodeAddress(type: type, address: text))
            }
        }
        if let annotations = try (try object.field("metadata"))?.field("annotations") {
            node.flannel = try flannelAnnotations(annotations)
            node.calico = try calicoAnnotations(annotations)
            if let type = node.flannel?.backendType, type != "vxlan",
               let value = try annotations.field("flannel.alpha.coreos.com/backend-type") {
                warn(value, reference, "flannel backend '\(type)' is not simulated; only vxlan is")
            }
        }
        return node
    }

    private func flannelAnnotations(_ annotations: ManifestValue) throws(ManifestError) -> FlannelNodeAnnotations? {
        let prefix = "flannel.alpha.coreos.com/"
        var flannel = FlannelNodeAnnotations()
        var found = false
        if let value = try annotations.field(prefix + "backend-type") {
            flannel.backendType = try value.string()
            found = true
        }
        // flannel prefers a `public-ip-overwrite` set by the administrator over the address it found.
        if let value = try annotations.firstField(prefix + "public-ip-overwrite", prefix + "public-ip") {
            flannel.publicIP = try address(value)
            found = true
        }
        if let value = try annotations.field(prefix + "backend-data"), try value.string() != "null" {
            let data = try value.embeddedJSON()
            for (key, field) in try data.entries() {
                switch key.lowercased() {
                case "vni": flannel.vni = UInt32(try field.int(in: 0...0xFF_FFFF))
                case "vtepmac": flannel.vtepMAC = try mac(field)
                default: break
                }
            }
            found = true
        }
        return found ? flannel : nil
    }

    private func calicoAnnotations(_ annotations: ManifestValue) throws(ManifestError) -> CalicoNodeAnnotations? {
        let prefix = "projectcalico.org/"
        var calico = CalicoNodeAnnotations()
        var found = false
        if let value = try annotations.field(prefix + "IPv4Address") {
            let text = try value.string()
            guard let address = InterfaceAddress(text), !address.address.isIPv6 else {
                throw value.invalid("'\(text)' is not an IPv4 address with its prefix length, such as 192.168.10.1/24")
            }
            calico.ipv4Address = address
            found = true
        }
        if let value = try annotations.field(prefix + "IPv4VXLANTunnelAddr") {
            calico.vxlanTunnelAddress = try address(value)
            found = true
        }
        if let value = try annotations.field(prefix + "VXLANTunnelMACAddr") {
            calico.vxlanTunnelMAC = try mac(value)
            found = true
        }
        return found ? calico : nil
    }

    // MARK: - Namespace

    func namespace(_ object: ManifestValue) throws(ManifestError) -> NamespaceManifest {
        NamespaceManifest(metadata: try metadata(object, kind: "Namespace", namespaced: false))
    }

    // MARK: - Pod

    func pod(_ object: ManifestValue) throws(ManifestError) -> PodManifest {
        let metadata = try self.metadata(object, kind: "Pod", namespaced: true)
        let reference = ObjectReference(kind: "Pod", namespace: metadata.namespace, name: metadata.name)
        let spec = try podSpecification(try object.required("spec", in: "a Pod"), owner: reference)
        var pod = PodManifest(metadata: metadata, spec: spec)
        if let status = try object.field("status") {
            if let list = try status.field("podIPs") {
                for item in try list.list() {
                    pod.addresses.append(try address(try item.required("ip", in: "a pod IP")))
                }
            } else if let single = try status.field("podIP") {
                pod.addresses = [try address(single)]
            }
            pod.phase = try (try status.field("phase"))?.string()
            if let host = try status.field("hostIP") { pod.hostAddress = try address(host) }
            if !spec.hostNetwork, let first = pod.addresses.first, first.isIPv6,
               let value = try status.firstField("podIPs", "podIP") {
                warn(value, reference, "the pod's primary address \(first) is IPv6; the simulated pod network is IPv4")
            }
        }
        return pod
    }

    /// A pod spec: node, host networking and the ports of every container (init containers included,
    /// since sidecars with `restartPolicy: Always` serve). Port names must be unique in the pod.
    func podSpecification(_ spec: ManifestValue, owner: ObjectReference) throws(ManifestError) -> PodSpecification {
        var result = PodSpecification()
        result.nodeName = try (try spec.field("nodeName"))?.string()
        result.hostNetwork = try (try spec.field("hostNetwork"))?.bool() ?? false
        var seenNames: [String: ManifestValue] = [:]
        for listName in ["initContainers", "containers"] {
            for container in try (try spec.field(listName))?.list() ?? [] {
                let name = try container.required("name", in: "a container").string()
                if listName == "containers" { result.containerNames.append(name) }
                for item in try (try container.field("ports"))?.list() ?? [] {
                    var port = ContainerPort(container: name,
                                             number: try self.port(try item.required("containerPort", in: "a container port")),
                                             protocol: try transportProtocol(try item.field("protocol")))
                    if let nameValue = try item.field("name") {
                        let portName = try nameValue.string()
                        try checkPortName(portName, at: nameValue)
                        if seenNames[portName] != nil {
                            throw nameValue.invalid("port name '\(portName)' is used twice in the pod (first at \(seenNames[portName]?.location.description ?? ""))")
                        }
                        seenNames[portName] = nameValue
                        port.name = portName
                    }
                    if let host = try item.field("hostPort") {
                        port.hostPort = try self.port(host)
                        warn(host, owner, "hostPort is not simulated; the pod is reached at its own address only")
                    }
                    result.ports.append(port)
                }
            }
        }
        return result
    }

    /// `spec.template` of a workload.
    func podTemplate(_ template: ManifestValue, owner: ObjectReference) throws(ManifestError) -> PodTemplate {
        let metadata = try template.field("metadata")
        let labels = try (try metadata?.field("labels"))?.stringMap() ?? [:]
        for (key, value) in try (try metadata?.field("labels"))?.entries() ?? [] {
            try checkLabel(key: key, value: labels[key] ?? "", at: value)
        }
        let annotations = try (try metadata?.field("annotations"))?.stringMap() ?? [:]
        let spec = try podSpecification(try template.required("spec", in: "a pod template"), owner: owner)
        return PodTemplate(labels: labels, annotations: annotations, spec: spec)
    }
}
