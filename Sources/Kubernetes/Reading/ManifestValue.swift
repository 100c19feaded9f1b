import Yams

/// One YAML node of a manifest with the path that led to it (`spec.ports[0].port`), so every problem can name
/// the field and the place.
///
/// Kubernetes objects carry far more than the reader models (`managedFields`, `status.conditions`, ...), so
/// fields nobody asks for are passed over, never errors. A field that is asked for and present must have the
/// shape the Kubernetes API gives it. An explicit `null` (kubectl prints `creationTimestamp: null`) counts
/// as absent, as it does for the API server's JSON decoding.
struct ManifestValue {
    let node: Node
    /// The field's path from the object's root, as `kubectl explain` writes it.
    let path: String
    let source: ManifestSource

    init(_ node: Node, path: String, source: ManifestSource) {
        self.node = node
        self.path = path
        self.source = source
    }

    var location: ManifestLocation { source.location(of: node) }

    /// A YAML null: an empty plain scalar, `~`, or `null` (YAML 1.1 §10.3.2, as go-yaml resolves it).
    var isNull: Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    // MARK: - Mappings

    /// The value of field `name` of this mapping; nil when absent or null.
    /// - Throws: `wrongType` when this node is not a mapping.
    func field(_ name: String) throws(ManifestError) -> ManifestValue? {
        guard case .mapping(let mapping) = node else {
            throw .wrongType(location, field: path.isEmpty ? "the document" : path, expected: "a mapping of fields")
        }
        for (key, value) in mapping where key.string == name {
            let child = ManifestValue(value, path: path.isEmpty ? name : "\(path).\(name)", source: source)
            return child.isNull ? nil : child
        }
        return nil
    }

    /// The first of the fields `names` that is present.
    func firstField(_ names: String...) throws(ManifestError) -> ManifestValue? {
        for name in names {
            if let value = try field(name) { return value }
        }
        return nil
    }

    /// The value of field `name`, which must be present.
    func required(_ name: String, in object: String) throws(ManifestError) -> ManifestValue {
        guard let value = try field(name) else {
            throw .missingField(location, object: object, field: path.isEmpty ? name : "\(path).\(name)")
        }
        return value
    }

    /// The fields of a mapping in written order.
    func entries() throws(ManifestError) -> [(key: String, value: ManifestValue)] {
        guard case .mapping(let mapping) = node else {
            throw .wrongType(location, field: path, expected: "a mapping")
        }
        var result: [(key: String, value: ManifestValue)] = []
        for (key, value) in mapping {
            let keyValue = ManifestValue(key, path: path, source: source)
            let name = try keyValue.text(what: "a key of \(path)")
            result.append((name, ManifestValue(value, path: "\(path).\(name)", source: source)))
        }
        return result
    }

    /// A mapping of text to text: labels, annotations, selectors, ConfigMap data.
    func stringMap() throws(ManifestError) -> [String: String] {
        var map: [String: String] = [:]
        for (key, value) in try entries() {
            map[key] = try value.string()
        }
        return map
    }

    // MARK: - Sequences

    /// The items of a list, each with its index in the path (`spec.ports[2]`).
    func list() throws(ManifestError) -> [ManifestValue] {
        guard case .sequence(let sequence) = node else {
            throw .wrongType(location, field: path, expected: "a list")
        }
        return sequence.enumerated().map { index, item in
            ManifestValue(item, path: "\(path)[\(index)]", source: source)
        }
    }

    /// A list of text values.
    func stringList() throws(ManifestError) -> [String] {
        var result: [String] = []
        for item in try list() { result.append(try item.string()) }
        return result
    }

    // MARK: - Scalars

    /// Text. A plain scalar that YAML reads as a number, a boolean or null is refused, as the API server
    /// refuses a JSON number for a string field; quoting it (`"80"`) makes it text.
    func string() throws(ManifestError) -> String {
        try text(what: path)
    }

    private func text(what: String) throws(ManifestError) -> String {
        guard case .scalar(let scalar) = node else {
            throw .wrongType(location, field: what, expected: "text")
        }
        if scalar.style == .plain, node.bool != nil || node.int != nil || node.float != nil || isNull {
            throw .wrongType(location, field: what, expected: "text (write \"\(scalar.string)\" in quotes)")
        }
        return scalar.string
    }

    /// A whole number within `range`.
    func int(in range: ClosedRange<Int>) throws(ManifestError) -> Int {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any, let value = node.int else {
            throw .wrongType(location, field: path, expected: "a whole number")
        }
        guard range.contains(value) else {
            throw .invalidValue(location, field: path, "\(value) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    /// `true` or `false`.
    func bool() throws(ManifestError) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain, let value = node.bool else {
            throw .wrongType(location, field: path, expected: "true or false")
        }
        return value
    }

    /// One of the values Kubernetes allows for an enumerated field (`ClusterIP`, `NodePort`, ...).
    func oneOf<Value: RawRepresentable>(_ type: Value.Type) throws(ManifestError) -> Value
    where Value.RawValue == String, Value: CaseIterable {
        let text = try string()
        guard let value = Value(rawValue: text) else {
            let allowed = Value.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")
            throw .invalidValue(location, field: path, "'\(text)' is not one of \(allowed)")
        }
        return value
    }

    func invalid(_ problem: String) -> ManifestError {
        .invalidValue(location, field: path, problem)
    }
}

/// The file a manifest came from: its name for locations, its text for positions inside embedded JSON.
struct ManifestSource {
    let file: String
    /// Where the text read lies in the file, when it is a string inside the file (a JSON annotation, a
    /// ConfigMap's `net-conf.json`): positions in it are moved to positions in the file.
    let embedding: Embedding?

    /// How positions in a string's content map to the file that holds it.
    enum Embedding {
        /// A literal block scalar (`|`): content line L is file line `headerLine + L`, at `indent` columns.
        case block(headerLine: Int, indent: Int)
        /// A one-line scalar that starts at `line:column`; `contentOffset` is 1 for a quote before the content.
        case inline(line: Int, column: Int, contentOffset: Int)
        /// Anything else (folded, or a quoted string over several lines): the string's own position.
        case whole(line: Int, column: Int)
    }

    /// The file's lines, to find a block scalar's indentation.
    let lines: [Substring]

    init(file: String, text: String) {
        self.file = file
        self.embedding = nil
        self.lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    }

    init(file: String, embedding: Embedding) {
        self.file = file
        self.embedding = embedding
        self.lines = []
    }

    func location(of node: Node) -> ManifestLocation {
        location(line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
    }

    func location(line: Int, column: Int) -> ManifestLocation {
        switch embedding {
        case nil:
            return ManifestLocation(file: file, line: line, column: column)
        case .block(let headerLine, let indent):
            return ManifestLocation(file: file, line: headerLine + line, column: indent + column)
        case .inline(let startLine, let startColumn, let offset):
            guard line == 1 else { return ManifestLocation(file: file, line: startLine, column: startColumn) }
            return ManifestLocation(file: file, line: startLine, column: startColumn + offset + column - 1)
        case .whole(let startLine, let startColumn):
            return ManifestLocation(file: file, line: startLine, column: startColumn)
        }
    }
}

extension ManifestValue {
    /// The JSON held in this string (Flannel's `backend-data` annotation, `net-conf.json`), read as YAML (JSON
    /// is YAML's flow style), with positions in the file that holds the string.
    func embeddedJSON() throws(ManifestError) -> ManifestValue {
        let text = try string()
        guard case .scalar(let scalar) = node, let mark = scalar.mark else {
            throw .wrongType(location, field: path, expected: "JSON text")
        }
        let embedding: ManifestSource.Embedding
        switch scalar.style {
        case .literal:
            // The content starts on the line after the `|` header, indented as its first non-empty line.
            let first = source.lines.dropFirst(mark.line).first { !$0.allSatisfy { $0 == " " } } ?? ""
            embedding = .block(headerLine: mark.line, indent: first.prefix { $0 == " " }.count)
        case .plain where !text.contains("\n"):
            embedding = .inline(line: mark.line, column: mark.column, contentOffset: 0)
        case .singleQuoted, .doubleQuoted:
            embedding = .inline(line: mark.line, column: mark.column, contentOffset: 1)
        default:
            embedding = .whole(line: mark.line, column: mark.column)
        }
        let inner = ManifestSource(file: source.file, embedding: embedding)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ManifestReader.yamlError(error, source: inner, what: "\(path) is not valid JSON")
        } catch {
            throw .invalidYAML(location, "\(path) is not valid JSON: \(error)")
        }
        guard let root, case .mapping = root else {
            throw .wrongType(location, field: path, expected: "a JSON object ({ ... })")
        }
        return ManifestValue(root, path: path, source: inner)
    }
}
