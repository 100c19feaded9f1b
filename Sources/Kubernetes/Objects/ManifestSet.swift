import Yams

/// Everything read from a set of manifest files: the objects the simulation uses, the ones it does not
/// (`ignored`), the fields it cannot honour (`warnings`), and overlay-sim's own Scenario documents.
///
/// Objects keep the order they were read in (files sorted by path, documents and list items in order), so the
/// same input always gives the same set.
public struct ManifestSet: Sendable {
    public var nodes: [NodeManifest] = []
    public var namespaces: [NamespaceManifest] = []
    public var pods: [PodManifest] = []
    public var workloads: [WorkloadManifest] = []
    public var services: [ServiceManifest] = []
    public var endpointSlices: [EndpointSliceManifest] = []
    public var networkPolicies: [NetworkPolicy] = []
    public var flannel: [FlannelConfiguration] = []
    public var calicoIPPools: [CalicoIPPool] = []
    public var felixConfigurations: [FelixConfiguration] = []
    public var calicoInstallations: [CalicoInstallation] = []
    public var cilium: [CiliumConfiguration] = []
    /// `apiVersion: overlay-sim/v1, kind: Scenario` documents, untouched.
    public var scenarios: [ScenarioDocument] = []
    public var ignored: [IgnoredObject] = []
    public var warnings: [ManifestWarning] = []
    /// The files read, in order.
    public var files: [String] = []

    public init() {}

    /// Whether nothing at all was found (no objects, no scenarios, nothing ignored).
    public var isEmpty: Bool {
        nodes.isEmpty && namespaces.isEmpty && pods.isEmpty && workloads.isEmpty && services.isEmpty
            && endpointSlices.isEmpty && networkPolicies.isEmpty && flannel.isEmpty && calicoIPPools.isEmpty
            && felixConfigurations.isEmpty && calicoInstallations.isEmpty && cilium.isEmpty && scenarios.isEmpty
            && ignored.isEmpty
    }

    /// The namespace called `name`, if one was read.
    public func namespace(named name: String) -> NamespaceManifest? { namespaces.first { $0.name == name } }
}

/// An `apiVersion: overlay-sim/v1`, `kind: Scenario` document: what manifests do not say (underlay, traffic,
/// firewalls), handed on as YAML for the scenario reader.
public struct ScenarioDocument: @unchecked Sendable {
    // Yams' Node is a value tree that nothing mutates once composed; it is not marked Sendable upstream.
    public var file: String
    public var location: ManifestLocation
    /// The whole document, `apiVersion` and `kind` included, with its line and column marks.
    public var node: Node

    public init(file: String, location: ManifestLocation, node: Node) {
        self.file = file
        self.location = location
        self.node = node
    }
}
