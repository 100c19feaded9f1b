import Kubernetes
import Yams

/// The Kubernetes e2e NetworkPolicy tests' cluster model (Tests/KubernetesTests/Fixtures/netpol-e2e/model.yaml:
/// namespaces x, y, z; pods a, b, c; their addresses), made into manifests as the e2e framework creates them
/// (test/e2e/network/netpol/kubemanager.go `initializeClusterFromModel`, model.go `KubePod` and
/// `Container.Spec`). Shared by the policy engine's tests and `probe`'s.
public struct E2EModel: Sendable {
    public var namespaces: [String]
    public var pods: [String]
    public var addresses: [String: String]

    /// Why model.yaml could not be read.
    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
    }

    public var podNames: [String] { namespaces.flatMap { namespace in pods.map { "\(namespace)/\($0)" } } }

    /// Reads the model from the text of model.yaml.
    public static func load(yaml text: String) throws -> E2EModel {
        guard let root = try Yams.compose(yaml: text) else { throw LoadError(description: "model.yaml is empty") }
        var addresses: [String: String] = [:]
        for (key, value) in root["addresses"]?.mapping ?? [:] { addresses[key.string ?? ""] = value.string ?? "" }
        let model = E2EModel(namespaces: (root["namespaces"]?.array() ?? []).compactMap(\.string),
                             pods: (root["pods"]?.array() ?? []).compactMap(\.string), addresses: addresses)
        guard !model.namespaces.isEmpty, !model.pods.isEmpty else {
            throw LoadError(description: "model.yaml names no namespaces or no pods")
        }
        return model
    }

    /// Namespaces and Pods, with the labels a test added, each pod serving `ports` over `protocols` with
    /// agnhost's container and port names.
    public func manifests(protocols: [TransportProtocol], ports: [UInt16], podLabels: [String: [String: String]],
                          namespaceLabels: [String: [String: String]]) throws -> ManifestSet {
        var yaml = ""
        for namespace in namespaces {
            yaml += "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: \(namespace)\n"
            if let labels = namespaceLabels[namespace], !labels.isEmpty {
                yaml += "  labels:\n" + labels.sorted { $0.key < $1.key }.map { "    \($0.key): \($0.value)\n" }.joined()
            }
            for pod in pods {
                var labels = ["pod": pod]
                labels.merge(podLabels["\(namespace)/\(pod)"] ?? [:]) { _, new in new }
                yaml += "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: \(pod)\n  namespace: \(namespace)\n  labels:\n"
                yaml += labels.sorted { $0.key < $1.key }.map { "    \($0.key): \($0.value)\n" }.joined()
                yaml += "spec:\n  containers:\n"
                for port in ports {
                    for proto in protocols {
                        let word = proto.rawValue.lowercased()
                        yaml += "  - name: cont-\(port)-\(word)\n    image: registry.k8s.io/e2e-test-images/agnhost:2.53\n"
                        yaml += "    ports:\n    - containerPort: \(port)\n      name: serve-\(port)-\(word)\n      protocol: \(proto.rawValue)\n"
                    }
                }
                yaml += "status:\n  phase: Running\n  podIP: \(addresses["\(namespace)/\(pod)"] ?? "")\n"
            }
        }
        return try ManifestReader.read(yaml: yaml, file: "e2e-model.yaml")
    }
}
