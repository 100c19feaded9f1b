/// A controller that makes pods from a template: Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob.
public struct WorkloadManifest: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable, CaseIterable {
        case deployment = "Deployment"
        case replicaSet = "ReplicaSet"
        case statefulSet = "StatefulSet"
        case daemonSet = "DaemonSet"
        case job = "Job"
        case cronJob = "CronJob"
    }

    public var kind: Kind
    public var metadata: ObjectMetadata
    /// How many pods run at once: `spec.replicas` (default 1) for Deployment, ReplicaSet and StatefulSet;
    /// `spec.parallelism` (default 1) for a Job and a CronJob's job template; nil for a DaemonSet, which runs
    /// one pod on every node.
    public var replicas: Int?
    /// `spec.selector`; nil where the API generates it (a Job written without one).
    public var selector: LabelSelector?
    public var template: PodTemplate
    /// A StatefulSet's `spec.serviceName`: the headless Service that names its pods.
    public var serviceName: String?
    /// A CronJob's `spec.schedule`.
    public var schedule: String?
    /// A Job's `spec.completions`.
    public var completions: Int?

    public init(kind: Kind, metadata: ObjectMetadata, replicas: Int?, selector: LabelSelector?, template: PodTemplate,
                serviceName: String? = nil, schedule: String? = nil, completions: Int? = nil) {
        self.kind = kind
        self.metadata = metadata
        self.replicas = replicas
        self.selector = selector
        self.template = template
        self.serviceName = serviceName
        self.schedule = schedule
        self.completions = completions
    }

    public var reference: ObjectReference {
        ObjectReference(kind: kind.rawValue, namespace: metadata.namespace, name: metadata.name)
    }
}
