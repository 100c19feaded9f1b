/// What every object carries in `metadata` that the simulation uses.
public struct ObjectMetadata: Hashable, Sendable {
    public var name: String
    /// The namespace of a namespaced object (`default` when the manifest leaves it out, as `kubectl apply`
    /// does without `-n`); nil for cluster-scoped objects (Node, Namespace, Calico's IPPool).
    public var namespace: String?
    public var labels: [String: String]
    public var annotations: [String: String]
    /// The objects that own this one (a Pod's ReplicaSet, a ReplicaSet's Deployment).
    public var owners: [ObjectReference]
    /// Where the object starts in its file.
    public var location: ManifestLocation

    public init(name: String, namespace: String? = nil, labels: [String: String] = [:],
                annotations: [String: String] = [:], owners: [ObjectReference] = [],
                location: ManifestLocation) {
        self.name = name
        self.namespace = namespace
        self.labels = labels
        self.annotations = annotations
        self.owners = owners
        self.location = location
    }
}
