import Yams

/// A parameter sweep over one scenario: each `--vary PATH=VALUES` names a place in the scenario's YAML
/// (`cluster.overlay.mtu`, `seed`, `underlay.links.0.latency`) and the values it takes there; the sweep is
/// every combination of them, numbered from 0 with the last `--vary` changing fastest, so combination K is
/// the same K on every machine (what an Indexed Job's completion index picks).
public struct ScenarioSweep: Hashable, Sendable {
    /// One `--vary`: a dotted path and its values, each a YAML scalar or flow value as written.
    public struct Variation: Hashable, Sendable, CustomStringConvertible {
        public var path: [String]
        public var values: [String]
        public var description: String { path.joined(separator: ".") }

        /// Reads `PATH=[V1,V2,...]` (any YAML flow sequence) or `PATH=A..B` (integers A to B inclusive).
        public init(parsing text: String) throws(SweepError) {
            guard let equals = text.firstIndex(of: "=") else {
                throw SweepError("--vary '\(text)': expected PATH=[V1,V2,...] or PATH=A..B")
            }
            let path = try Self.pathSegments(String(text[..<equals]), in: text)
            let spec = String(text[text.index(after: equals)...])
            if let range = spec.range(of: ".."), let low = Int(spec[..<range.lowerBound]), let high = Int(spec[range.upperBound...]) {
                guard low <= high else { throw SweepError("--vary '\(text)': the range \(low)..\(high) is empty") }
                guard high - low < ScenarioSweep.maximumCombinations else {
                    throw SweepError("--vary '\(text)': \(high - low + 1) values; a sweep runs at most \(ScenarioSweep.maximumCombinations) combinations")
                }
                self.init(path: path, values: (low...high).map(String.init))
                return
            }
            let parsed: Node?
            do { parsed = try Yams.compose(yaml: spec) } catch {
                throw SweepError("--vary '\(text)': the values are not YAML: \(String(describing: error).split(separator: "\n").first ?? "")")
            }
            guard let sequence = parsed?.sequence, !sequence.isEmpty else {
                throw SweepError("--vary '\(text)': expected a list of values in brackets, [V1,V2,...], or a range A..B")
            }
            var values: [String] = []
            for item in sequence {
                do { values.append(try Yams.serialize(node: item, mappingStyle: .flow).trimmingTrailingNewlines) } catch {
                    throw SweepError("--vary '\(text)': a value cannot be written back as YAML")
                }
            }
            self.init(path: path, values: values)
        }

        /// `a.b.0.c`; a part in quotes keeps its dots (`sysctl.'net.ipv4.ip_forward_use_pmtu'`).
        static func pathSegments(_ path: String, in text: String) throws(SweepError) -> [String] {
            var segments: [String] = []
            var current = ""
            var quote: Character?
            var quoted = false
            for character in path {
                if let open = quote {
                    if character == open { quote = nil } else { current.append(character) }
                } else if character == "'" || character == "\"" {
                    quote = character
                    quoted = true
                } else if character == "." {
                    segments.append(current)
                    current = ""
                } else {
                    current.append(character)
                }
            }
            guard quote == nil else { throw SweepError("--vary '\(text)': a quote in the path is not closed") }
            segments.append(current)
            guard segments.allSatisfy({ !$0.isEmpty }) || quoted && !segments.contains(where: \.isEmpty) else {
                throw SweepError("--vary '\(text)': the path before '=' has an empty part")
            }
            return segments
        }

        public init(path: [String], values: [String]) {
            self.path = path
            self.values = values
        }
    }

    public var variations: [Variation]

    /// Enough for any sweep a machine or a cluster runs in a day; more is a typo.
    public static let maximumCombinations = 100_000

    public init(_ variations: [Variation]) throws(SweepError) {
        guard !variations.isEmpty else { throw SweepError("a sweep needs at least one --vary") }
        var seen = Set<[String]>()
        for variation in variations where !seen.insert(variation.path).inserted {
            throw SweepError("--vary \(variation): the path is varied twice")
        }
        var count = 1
        for variation in variations {
            count = count.multipliedReportingOverflow(by: variation.values.count).partialValue
            guard count <= Self.maximumCombinations else {
                throw SweepError("the sweep has more than \(Self.maximumCombinations) combinations")
            }
        }
        self.variations = variations
    }

    /// How many runs the sweep is.
    public var count: Int { variations.reduce(1) { $0 * $1.values.count } }

    /// The values of combination `index`, one per variation, in the order given.
    public func combination(_ index: Int) -> [String] {
        var rest = index
        var values = Array(repeating: "", count: variations.count)
        for position in variations.indices.reversed() {
            let choices = variations[position].values
            values[position] = choices[rest % choices.count]
            rest /= choices.count
        }
        return values
    }

    /// The scenario text with combination `index` written in: each path set to its value (a mapping key
    /// that is missing is added; a list is indexed by number), the rest as it was, re-emitted as YAML.
    public func apply(_ index: Int, to yaml: String, file: String) throws(SweepError) -> String {
        guard var root = (try? Yams.compose(yaml: yaml)) ?? nil else {
            throw SweepError("\(file): is not a YAML scenario the sweep can change")
        }
        for (variation, value) in zip(variations, combination(index)) {
            let node: Node
            do {
                guard let parsed = try Yams.compose(yaml: value) else { throw SweepError("") }
                node = parsed
            } catch {
                throw SweepError("--vary \(variation): the value '\(value)' is not YAML")
            }
            try Self.set(node, at: variation.path[...], in: &root, variation: variation)
        }
        do { return try Yams.serialize(node: root) } catch {
            throw SweepError("\(file): the changed scenario cannot be written as YAML")
        }
    }

    private static func set(_ value: Node, at path: ArraySlice<String>, in node: inout Node, variation: Variation) throws(SweepError) {
        guard let key = path.first else {
            node = value
            return
        }
        switch node {
        case .mapping(var mapping):
            // A key with dots in it (the sysctl section's `net.ipv4.ip_forward_use_pmtu`) matches the
            // longest run of the path's parts that names an existing key; a missing key is the next part.
            var taken = 1
            for length in stride(from: path.count, through: 2, by: -1)
            where mapping[path.prefix(length).joined(separator: ".")] != nil {
                taken = length
                break
            }
            let name = path.prefix(taken).joined(separator: ".")
            var child = mapping[name] ?? Node.mapping(Node.Mapping([]))
            try set(value, at: path.dropFirst(taken), in: &child, variation: variation)
            mapping[name] = child
            node = .mapping(mapping)
        case .sequence(var sequence):
            guard let position = Int(key), sequence.indices.contains(position) else {
                throw SweepError("--vary \(variation): '\(key)' is not an index of the list there (it has \(sequence.count) entries)")
            }
            var child = sequence[position]
            try set(value, at: path.dropFirst(), in: &child, variation: variation)
            sequence[position] = child
            node = .sequence(sequence)
        case .scalar, .alias:
            throw SweepError("--vary \(variation): the scenario has a single value where '\(key)' would go")
        }
    }
}

/// Why a sweep cannot be made or applied, in one sentence.
public struct SweepError: Error, Hashable, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension String {
    fileprivate var trimmingTrailingNewlines: String {
        var text = self
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }
}
