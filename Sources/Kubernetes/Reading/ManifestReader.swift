import Foundation
import Yams

/// Reads Kubernetes manifests: files and folders of YAML (or JSON), multi-document files, and `kind: List`
/// (what `kubectl get ... -o yaml` prints), into a ``ManifestSet``.
///
/// The first problem stops the reading and is reported as `file:line:column: what was wrong`. Objects the
/// simulation does not use are collected in ``ManifestSet/ignored``; fields read but not honoured in
/// ``ManifestSet/warnings``.
public enum ManifestReader {
    /// The endings of the files a folder is searched for.
    public static let fileExtensions: Set<String> = ["yaml", "yml", "json"]

    /// Reads every path: a file as it is, a folder with every `.yaml`, `.yml` and `.json` file under it
    /// (hidden files and folders skipped), in path order.
    /// - Throws: ``ManifestError`` naming the file, line and column of the first problem.
    public static func read(paths: [String]) throws(ManifestError) -> ManifestSet {
        let collector = ManifestCollector()
        for path in paths {
            for file in try files(at: path) {
                let text: String
                do {
                    text = try String(contentsOfFile: file, encoding: .utf8)
                } catch {
                    throw .unreadable(file, "not UTF-8 text, or unreadable (\(error.localizedDescription))")
                }
                try collector.read(yaml: text, file: file)
            }
        }
        return collector.set
    }

    /// Reads one text of YAML documents.
    /// - Parameters:
    ///   - yaml: the text, one or more documents.
    ///   - file: the name used in locations.
    public static func read(yaml: String, file: String) throws(ManifestError) -> ManifestSet {
        let collector = ManifestCollector()
        try collector.read(yaml: yaml, file: file)
        return collector.set
    }

    /// Reads objects that are already composed YAML nodes (documents embedded in another file, such as a test
    /// fixture), keeping their line and column marks.
    /// - Parameters:
    ///   - documents: objects, or `kind: List`s of objects.
    ///   - file: the file the nodes came from.
    ///   - text: that file's text, for positions inside block scalars.
    public static func read(documents: [Node], file: String, text: String = "") throws(ManifestError) -> ManifestSet {
        let collector = ManifestCollector()
        let source = ManifestSource(file: file, text: text)
        collector.set.files.append(file)
        for document in documents {
            try collector.add(document: ManifestValue(document, path: "", source: source))
        }
        return collector.set
    }

    /// The files to read for `path`, sorted.
    static func files(at path: String) throws(ManifestError) -> [String] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw .unreadable(path, "no such file or folder")
        }
        guard isFolder.boolValue else { return [path] }
        guard let walker = FileManager.default.enumerator(atPath: path) else {
            throw .unreadable(path, "the folder cannot be listed")
        }
        var found: [String] = []
        while let relative = walker.nextObject() as? String {
            let components = relative.split(separator: "/")
            if components.contains(where: { $0.hasPrefix(".") }) { continue }
            let ending = relative.split(separator: ".").last.map { String($0).lowercased() } ?? ""
            guard fileExtensions.contains(ending) else { continue }
            let full = (path as NSString).appendingPathComponent(relative)
            var entryIsFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: full, isDirectory: &entryIsFolder), !entryIsFolder.boolValue {
                found.append(full)
            }
        }
        return found.sorted()
    }

    /// A Yams error as a located manifest error.
    static func yamlError(_ error: YamlError, source: ManifestSource, what: String = "") -> ManifestError {
        let prefix = what.isEmpty ? "" : what + ": "
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
             let .composer(context, problem, mark, _):
            let words = [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
            return .invalidYAML(source.location(line: mark.line, column: mark.column), prefix + words)
        case let .reader(problem, _, value, _):
            // Yams' own description of a reader error quotes the whole buffer: say only what is wrong.
            let character = value >= 0 ? String(format: " (byte or character 0x%02X)", value) : ""
            return .invalidYAML(source.location(line: 1, column: 1), prefix + "not readable as YAML text: \(problem)\(character)")
        case let .duplicatedKeysInMapping(duplicates, context):
            return .invalidYAML(source.location(line: context.mark.line, column: context.mark.column),
                                prefix + "key '\(duplicates.first.map { String($0.prefix(80)) } ?? "")' appears twice in one mapping")
        case .memory:
            return .invalidYAML(source.location(line: 1, column: 1), prefix + "the parser ran out of memory")
        default:
            return .invalidYAML(source.location(line: 1, column: 1), prefix + "not YAML")
        }
    }
}

/// Accumulates objects across files, refusing an object defined twice.
final class ManifestCollector {
    var set = ManifestSet()
    private var firstSeen: [ObjectReference: ManifestLocation] = [:]

    func read(yaml: String, file: String) throws(ManifestError) {
        let source = ManifestSource(file: file, text: yaml)
        set.files.append(file)
        var documents: [Node] = []
        var failure: (any Error)?
        do {
            // The sequence composes a document at a time and keeps a parse error in `error` instead of
            // throwing it, so the error must be looked at once the sequence ends.
            var sequence = try Yams.compose_all(yaml: yaml)
            while let document = sequence.next() { documents.append(document) }
            failure = sequence.error
        } catch {
            failure = error
        }
        if let error = failure as? YamlError {
            throw ManifestReader.yamlError(error, source: source)
        } else if let failure {
            throw .invalidYAML(ManifestLocation(file: file, line: 1, column: 1), String("\(failure)".prefix(300)))
        }
        for document in documents {
            let value = ManifestValue(document, path: "", source: source)
            // `---` with nothing after it, or a document of comments only.
            if value.isNull { continue }
            try add(document: value)
        }
    }

    /// One document: an object, or a list of objects.
    func add(document: ManifestValue) throws(ManifestError) {
        guard case .mapping = document.node else {
            throw .notAnObject(document.location, "a Kubernetes object must be a mapping with 'apiVersion' and 'kind'")
        }
        guard let kindValue = try document.field("kind"), let versionValue = try document.field("apiVersion") else {
            throw .notAnObject(document.location,
                               "this document has no 'apiVersion' and 'kind', so it is not a Kubernetes object"
                                   + " (an overlay-sim scenario in its own format must be a file of its own)")
        }
        let kind = try kindValue.string()
        let apiVersion = try versionValue.string()
        let items = try document.field("items")
        if kind == "List" || (kind.hasSuffix("List") && items != nil) {
            for item in try items?.list() ?? [] {
                try add(document: item)
            }
            return
        }
        try add(object: document, kind: kind, apiVersion: apiVersion)
    }

    private func add(object: ManifestValue, kind: String, apiVersion: String) throws(ManifestError) {
        let group = apiVersion.contains("/") ? String(apiVersion.split(separator: "/")[0]) : ""
        if apiVersion == "overlay-sim/v1" {
            guard kind == "Scenario" else {
                let kindValue = try object.required("kind", in: "an overlay-sim document")
                throw kindValue.invalid("overlay-sim/v1 has only kind 'Scenario', not '\(kind)'")
            }
            set.scenarios.append(ScenarioDocument(file: object.source.file, location: object.location, node: object.node))
            return
        }
        let reading = ObjectReading(collector: self)
        switch (group, kind) {
        case ("", "Node"):
            let node = try reading.node(object)
            try register(node.reference, at: node.metadata.location)
            set.nodes.append(node)
        case ("", "Namespace"):
            let namespace = try reading.namespace(object)
            try register(namespace.reference, at: namespace.metadata.location)
            set.namespaces.append(namespace)
        case ("", "Pod"):
            let pod = try reading.pod(object)
            try register(pod.reference, at: pod.metadata.location)
            set.pods.append(pod)
        case ("", "Service"):
            let service = try reading.service(object)
            try register(service.reference, at: service.metadata.location)
            set.services.append(service)
        case ("", "ConfigMap"):
            try reading.configMap(object, apiVersion: apiVersion)
        case ("apps", "Deployment"), ("apps", "ReplicaSet"), ("apps", "StatefulSet"), ("apps", "DaemonSet"),
             ("batch", "Job"), ("batch", "CronJob"):
            let workload = try reading.workload(object, kind: WorkloadManifest.Kind(rawValue: kind) ?? .deployment)
            try register(workload.reference, at: workload.metadata.location)
            set.workloads.append(workload)
        case ("discovery.k8s.io", "EndpointSlice"):
            let slice = try reading.endpointSlice(object)
            try register(slice.reference, at: slice.metadata.location)
            set.endpointSlices.append(slice)
        case ("networking.k8s.io", "NetworkPolicy"), ("extensions", "NetworkPolicy"):
            let policy = try reading.networkPolicy(object)
            try register(policy.reference, at: policy.metadata.location)
            set.networkPolicies.append(policy)
        case ("crd.projectcalico.org", "IPPool"), ("projectcalico.org", "IPPool"):
            let pool = try reading.calicoIPPool(object)
            try register(pool.reference, at: pool.metadata.location)
            set.calicoIPPools.append(pool)
        case ("crd.projectcalico.org", "FelixConfiguration"), ("projectcalico.org", "FelixConfiguration"):
            let felix = try reading.felixConfiguration(object)
            try register(felix.reference, at: felix.metadata.location)
            set.felixConfigurations.append(felix)
        case ("operator.tigera.io", "Installation"):
            let installation = try reading.calicoInstallation(object)
            try register(installation.source, at: installation.location)
            set.calicoInstallations.append(installation)
        default:
            try ignore(object, kind: kind, apiVersion: apiVersion)
        }
    }

    /// Lists an object the simulation does not use.
    func ignore(_ object: ManifestValue, kind: String, apiVersion: String) throws(ManifestError) {
        let metadata = try object.field("metadata")
        let name = try (try metadata?.field("name"))?.string() ?? "(unnamed)"
        let namespace = try (try metadata?.field("namespace"))?.string()
        set.ignored.append(IgnoredObject(apiVersion: apiVersion,
                                         object: ObjectReference(kind: kind, namespace: namespace, name: name),
                                         location: object.location))
    }

    /// Records an object, refusing a second one of the same kind, namespace and name.
    func register(_ reference: ObjectReference, at location: ManifestLocation) throws(ManifestError) {
        if let first = firstSeen[reference] { throw .duplicate(location, reference, first: first) }
        firstSeen[reference] = location
    }

    func warn(_ value: ManifestValue, _ object: ObjectReference, _ message: String) {
        set.warnings.append(ManifestWarning(location: value.location, object: object, field: value.path, message: message))
    }
}
