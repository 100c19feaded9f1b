/// A place in a scenario file.
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// What is wrong with a scenario, and where: printed as `file:line:column: message`, the form editors
/// and compilers use, so a terminal or IDE can jump to it.
///
/// Each error has a ``Code`` as well as its sentence, so a script (or a test) can tell a missing field from
/// a value out of range without reading the sentence; `--json` output carries it as `code`.
public struct ScenarioError: Error, Hashable, Sendable, CustomStringConvertible {
    public var location: SourceLocation
    public var message: String
    public var code: Code

    /// What kind of problem it is: stable names, like ``DropCode``'s.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// Not YAML, or YAML libyaml refuses (a tab, a duplicate key, nesting too deep).
        public static let invalidYAML = Code(rawValue: "invalidYAML")
        /// The file is empty, too large, or not a scenario at all.
        public static let unreadableFile = Code(rawValue: "unreadableFile")
        /// A field the format does not have at that place.
        public static let unknownField = Code(rawValue: "unknownField")
        /// A field that must be given is not.
        public static let missingField = Code(rawValue: "missingField")
        /// A value of the wrong YAML type (a list where a mapping goes, text where a number goes).
        public static let wrongType = Code(rawValue: "wrongType")
        /// A number outside what the field can hold.
        public static let outOfRange = Code(rawValue: "outOfRange")
        /// A value the field cannot take (an unknown mode, a malformed address or rate).
        public static let invalidValue = Code(rawValue: "invalidValue")
        /// A name used twice where names must be distinct.
        public static let duplicateName = Code(rawValue: "duplicateName")
        /// A name that refers to nothing in the scenario (a link to an unknown node, a flow to an unknown pod).
        public static let unknownReference = Code(rawValue: "unknownReference")
        /// Settings that cannot hold together (overlapping pod CIDRs, a clusterIP in a pod CIDR).
        public static let conflict = Code(rawValue: "conflict")
        /// A setting that changes nothing where it is given (`vxlanAware` on a fragment filter).
        public static let noEffect = Code(rawValue: "noEffect")
    }

    public init(_ location: SourceLocation, _ message: String, code: Code = .invalidValue) {
        self.location = location
        self.message = message
        self.code = code
    }

    public var description: String { "\(location): \(message)" }
}
