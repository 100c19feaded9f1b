extension ObjectReading {
    /// A networking.k8s.io/v1 NetworkPolicy, checked as `ValidateNetworkPolicySpec`
    /// (k8s.io/kubernetes pkg/apis/networking/validation) checks it, defaults applied.
    func networkPolicy(_ object: ManifestValue) throws(ManifestError) -> NetworkPolicy {
        let metadata = try self.metadata(object, kind: "NetworkPolicy", namespaced: true)
        var policy = NetworkPolicy(metadata: metadata)
        guard let spec = try object.field("spec") else { return policy }
        if let selector = try spec.field("podSelector") { policy.podSelector = try labelSelector(selector) }
        for item in try (try spec.field("ingress"))?.list() ?? [] {
            policy.ingress.append(try rule(item, peersField: "from"))
        }
        for item in try (try spec.field("egress"))?.list() ?? [] {
            policy.egress.append(try rule(item, peersField: "to"))
        }
        if let types = try spec.field("policyTypes") {
            var written: [NetworkPolicy.PolicyType] = []
            for item in try types.list() {
                let type = try item.oneOf(NetworkPolicy.PolicyType.self)
                if written.contains(type) { throw item.invalid("'\(type)' is listed twice") }
                written.append(type)
            }
            policy.writtenPolicyTypes = written.isEmpty ? nil : written
        }
        return policy
    }

    private func rule(_ item: ManifestValue, peersField: String) throws(ManifestError) -> NetworkPolicyRule {
        var rule = NetworkPolicyRule(location: item.location)
        // An empty rule `{}` is legal and matches everything.
        if case .mapping = item.node {} else { throw .wrongType(item.location, field: item.path, expected: "a rule mapping") }
        for peer in try (try item.field(peersField))?.list() ?? [] {
            rule.peers.append(try self.peer(peer))
        }
        for port in try (try item.field("ports"))?.list() ?? [] {
            rule.ports.append(try policyPort(port))
        }
        return rule
    }

    private func peer(_ value: ManifestValue) throws(ManifestError) -> NetworkPolicyPeer {
        let podSelector = try value.field("podSelector")
        let namespaceSelector = try value.field("namespaceSelector")
        let ipBlock = try value.field("ipBlock")
        if let ipBlock {
            guard podSelector == nil, namespaceSelector == nil else {
                throw value.invalid("a peer may not combine ipBlock with podSelector or namespaceSelector; write them as two peers")
            }
            let cidrValue = try ipBlock.required("cidr", in: "an ipBlock")
            let block = try cidr(cidrValue)
            var excepts: [CIDR] = []
            for item in try (try ipBlock.field("except"))?.list() ?? [] {
                let except = try cidr(item)
                guard block.contains(except), except.length > block.length else {
                    throw item.invalid("\(except) must be a strict subset of the ipBlock's cidr \(block)")
                }
                excepts.append(except)
            }
            return .ipBlock(IPBlock(cidr: block, except: excepts))
        }
        guard podSelector != nil || namespaceSelector != nil else {
            throw value.invalid("a peer must give a podSelector, a namespaceSelector or an ipBlock")
        }
        return .pods(podSelector: try podSelector.map { value throws(ManifestError) in try labelSelector(value) },
                     namespaceSelector: try namespaceSelector.map { value throws(ManifestError) in try labelSelector(value) })
    }

    private func policyPort(_ value: ManifestValue) throws(ManifestError) -> NetworkPolicyPort {
        var port = NetworkPolicyPort(protocol: try transportProtocol(try value.field("protocol")))
        if let number = try value.field("port") { port.port = try portReference(number) }
        if let end = try value.field("endPort") {
            let endPort = try self.port(end)
            guard case .number(let start)? = port.port else {
                throw end.invalid(port.port == nil ? "endPort needs a numeric port" : "endPort cannot be used with a named port")
            }
            guard endPort >= start else { throw end.invalid("endPort \(endPort) is below port \(start)") }
            port.endPort = endPort
        }
        return port
    }

    /// A `metav1.LabelSelector`, checked as apimachinery's `ValidateLabelSelector` checks it.
    func labelSelector(_ value: ManifestValue) throws(ManifestError) -> LabelSelector {
        var selector = LabelSelector()
        if let labels = try value.field("matchLabels") {
            selector.matchLabels = try labels.stringMap()
            for (key, entry) in try labels.entries() {
                try checkLabel(key: key, value: selector.matchLabels[key] ?? "", at: entry)
            }
        }
        for item in try (try value.field("matchExpressions"))?.list() ?? [] {
            let keyValue = try item.required("key", in: "a label selector requirement")
            let key = try keyValue.string()
            try checkLabel(key: key, value: "", at: keyValue)
            let operatorValue = try item.required("operator", in: "a label selector requirement")
            let op = try operatorValue.oneOf(LabelRequirement.Operator.self)
            let valuesValue = try item.field("values")
            let values = try valuesValue?.stringList() ?? []
            switch op {
            case .in, .notIn:
                guard !values.isEmpty else {
                    throw (valuesValue ?? item).invalid("operator \(op.rawValue) needs at least one value")
                }
            case .exists, .doesNotExist:
                guard values.isEmpty else {
                    throw (valuesValue ?? item).invalid("operator \(op.rawValue) takes no values")
                }
            }
            for (index, text) in values.enumerated() {
                try checkLabel(key: key, value: text, at: (try valuesValue?.list())?[index] ?? item)
            }
            selector.matchExpressions.append(LabelRequirement(key: key, operator: op, values: values))
        }
        return selector
    }
}
