/// A v1 Namespace: its labels are what NetworkPolicy `namespaceSelector`s see.
public struct NamespaceManifest: Hashable, Sendable {
    public var metadata: ObjectMetadata

    public init(metadata: ObjectMetadata) {
        self.metadata = metadata
    }

    /// The label the API server puts on every namespace (immutable, since Kubernetes 1.21,
    /// KEP-2161 "NamespaceDefaultLabelName").
    public static let nameLabel = "kubernetes.io/metadata.name"

    public var name: String { metadata.name }

    /// The labels as the API server stores them: the written ones, with `kubernetes.io/metadata.name` set to
    /// the name whatever the manifest says (the API server overwrites it).
    public var labels: [String: String] {
        var labels = metadata.labels
        labels[Self.nameLabel] = metadata.name
        return labels
    }

    public var reference: ObjectReference { ObjectReference(kind: "Namespace", namespace: nil, name: metadata.name) }
}
