import PacketWire

extension ObjectReading {
    /// A v1 Service, checked as the API server's `ValidateService` checks what the simulation uses.
    func service(_ object: ManifestValue) throws(ManifestError) -> ServiceManifest {
        let metadata = try self.metadata(object, kind: "Service", namespaced: true)
        var service = ServiceManifest(metadata: metadata)
        let reference = service.reference
        guard let spec = try object.field("spec") else { return service }
        let typeValue = try spec.field("type")
        service.type = try typeValue?.oneOf(ServiceManifest.ServiceType.self) ?? .clusterIP

        if let list = try spec.field("clusterIPs") {
            for item in try list.list() {
                if try item.string() == "None" { service.isHeadless = true } else { service.clusterIPs.append(try address(item)) }
            }
        } else if let single = try spec.field("clusterIP") {
            if try single.string() == "None" { service.isHeadless = true } else { service.clusterIPs = [try address(single)] }
        }
        if let selector = try spec.field("selector") { service.selector = try selector.stringMap() }

        let portValues = try (try spec.field("ports"))?.list() ?? []
        var names: [String: ManifestValue] = [:]
        for item in portValues {
            let portNumber = try port(try item.required("port", in: "a Service port"))
            var servicePort = ServicePortManifest(port: portNumber, protocol: try transportProtocol(try item.field("protocol")))
            if let nameValue = try item.field("name") {
                let name = try nameValue.string()
                if let first = names[name] {
                    throw nameValue.invalid("port name '\(name)' is used twice (first at \(first.location))")
                }
                names[name] = nameValue
                servicePort.name = name
            } else if portValues.count > 1 {
                throw .missingField(item.location, object: "a port of a Service with more than one port", field: "\(item.path).name")
            }
            if let target = try item.field("targetPort") { servicePort.targetPort = try portReference(target) }
            if let node = try item.field("nodePort") {
                guard service.type == .nodePort || service.type == .loadBalancer else {
                    throw node.invalid("a nodePort needs a Service of type NodePort or LoadBalancer, not \(service.type.rawValue)")
                }
                servicePort.nodePort = try port(node)
            }
            servicePort.appProtocol = try (try item.field("appProtocol"))?.string()
            service.ports.append(servicePort)
        }

        if let value = try spec.field("externalTrafficPolicy") {
            service.externalTrafficPolicy = try value.oneOf(ServiceManifest.TrafficPolicy.self)
        } else if service.type == .nodePort || service.type == .loadBalancer {
            service.externalTrafficPolicy = .cluster
        }
        if let value = try spec.field("internalTrafficPolicy") {
            service.internalTrafficPolicy = try value.oneOf(ServiceManifest.TrafficPolicy.self)
        }
        if let value = try spec.field("sessionAffinity") {
            switch try value.string() {
            case "None": service.sessionAffinity = .none
            case "ClientIP":
                let timeout = try (try (try (try spec.field("sessionAffinityConfig"))?.field("clientIP"))?.field("timeoutSeconds"))?
                    .int(in: 1...86400) ?? 10800
                service.sessionAffinity = .clientIP(timeoutSeconds: timeout)
            default:
                throw value.invalid("'\(try value.string())' is not one of 'None', 'ClientIP'")
            }
        }
        if let value = try spec.field("allocateLoadBalancerNodePorts") {
            service.allocateLoadBalancerNodePorts = try value.bool()
        } else if service.type == .loadBalancer {
            service.allocateLoadBalancerNodePorts = true
        }
        if let value = try spec.field("externalName") { service.externalName = try value.string() }
        if service.type == .externalName {
            guard service.externalName != nil else {
                throw .missingField(spec.location, object: "an ExternalName Service", field: "spec.externalName")
            }
            if let typeValue { warn(typeValue, reference, "an ExternalName Service is a DNS alias; no traffic is sent through it") }
        }
        for item in try (try spec.field("externalIPs"))?.list() ?? [] { service.externalIPs.append(try address(item)) }
        service.publishNotReadyAddresses = try (try spec.field("publishNotReadyAddresses"))?.bool() ?? false
        if let ingress = try (try (try object.field("status"))?.field("loadBalancer"))?.field("ingress") {
            for item in try ingress.list() {
                if let ip = try item.field("ip") { service.loadBalancerIngress.append(try address(ip)) }
            }
        }
        if service.type == .loadBalancer, let typeValue {
            warn(typeValue, reference, "no cloud load balancer is simulated; the Service is reached at its cluster IP and node ports")
        }
        return service
    }

    /// A discovery.k8s.io/v1 EndpointSlice.
    func endpointSlice(_ object: ManifestValue) throws(ManifestError) -> EndpointSliceManifest {
        let metadata = try self.metadata(object, kind: "EndpointSlice", namespaced: true)
        let typeValue = try object.required("addressType", in: "an EndpointSlice")
        var slice = EndpointSliceManifest(metadata: metadata, serviceName: metadata.labels["kubernetes.io/service-name"],
                                          addressType: try typeValue.oneOf(EndpointSliceManifest.AddressType.self))
        if slice.addressType != .ipv4 {
            warn(typeValue, slice.reference, "\(slice.addressType.rawValue) endpoints are not used; the simulated pod network is IPv4")
        }
        for item in try (try object.field("endpoints"))?.list() ?? [] {
            let addresses = try item.required("addresses", in: "an endpoint").list()
            var endpoint = EndpointSliceManifest.Endpoint(addresses: [])
            for value in addresses {
                if slice.addressType != .fqdn { _ = try address(value) }
                endpoint.addresses.append(try value.string())
            }
            if let conditions = try item.field("conditions") {
                endpoint.ready = try (try conditions.field("ready"))?.bool()
                endpoint.serving = try (try conditions.field("serving"))?.bool()
                endpoint.terminating = try (try conditions.field("terminating"))?.bool()
            }
            endpoint.nodeName = try (try item.field("nodeName"))?.string()
            endpoint.zone = try (try item.field("zone"))?.string()
            if let target = try item.field("targetRef") {
                endpoint.target = ObjectReference(kind: try (try target.field("kind"))?.string() ?? "Pod",
                                                  namespace: try (try target.field("namespace"))?.string() ?? metadata.namespace,
                                                  name: try target.required("name", in: "a targetRef").string())
            }
            slice.endpoints.append(endpoint)
        }
        for item in try (try object.field("ports"))?.list() ?? [] {
            slice.ports.append(EndpointSliceManifest.Port(
                name: try (try item.field("name"))?.string(),
                port: try (try item.field("port")).map { value throws(ManifestError) in try port(value) },
                protocol: try transportProtocol(try item.field("protocol")),
                appProtocol: try (try item.field("appProtocol"))?.string()))
        }
        return slice
    }
}
