/// Which object: kind, namespace (nil for cluster-scoped kinds) and name, as `kubectl` names it.
public struct ObjectReference: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var kind: String
    public var namespace: String?
    public var name: String

    public init(kind: String, namespace: String?, name: String) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
    }

    /// `namespace/name`, or the name alone for cluster-scoped objects.
    public var qualifiedName: String { namespace.map { "\($0)/\(name)" } ?? name }

    /// "Pod x/a", "Node node-1".
    public var description: String { "\(kind) \(qualifiedName)" }

    public static func < (lhs: ObjectReference, rhs: ObjectReference) -> Bool {
        (lhs.kind, lhs.namespace ?? "", lhs.name) < (rhs.kind, rhs.namespace ?? "", rhs.name)
    }
}

/// An object the reader does not model (a Secret, a ClusterRole, an unrelated ConfigMap): listed, never an error.
public struct IgnoredObject: Hashable, Sendable, CustomStringConvertible {
    public var apiVersion: String
    public var object: ObjectReference
    public var location: ManifestLocation

    public init(apiVersion: String, object: ObjectReference, location: ManifestLocation) {
        self.apiVersion = apiVersion
        self.object = object
        self.location = location
    }

    public var description: String { "\(location): ignored \(object) (\(apiVersion))" }
}

/// A field that was read but that the simulation cannot honour (a Flannel host-gw backend, a Calico IPIP pool,
/// an IPv6 pod address): the object is still used, the field is not.
public struct ManifestWarning: Hashable, Sendable, CustomStringConvertible {
    public var location: ManifestLocation
    public var object: ObjectReference
    /// The field's path in the object, as `kubectl explain` writes it: `spec.ports[0].appProtocol`.
    public var field: String
    public var message: String

    public init(location: ManifestLocation, object: ObjectReference, field: String, message: String) {
        self.location = location
        self.object = object
        self.field = field
        self.message = message
    }

    public var description: String { "\(location): warning: \(object) \(field): \(message)" }
}
