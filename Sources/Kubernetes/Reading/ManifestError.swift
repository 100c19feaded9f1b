/// What is wrong with a manifest, and where: `file:line:column: message`.
///
/// The `code` is for tests and programs to match; the `message` is the sentence a person reads. Errors are
/// made by the static factories below, so the same mistake is always worded the same way.
public struct ManifestError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable {
        /// The file or folder could not be read.
        case unreadable
        /// The text is not YAML (or the embedded JSON is not JSON).
        case invalidYAML
        /// A document is not a Kubernetes object (no `apiVersion`/`kind`, not a mapping).
        case notAnObject
        /// A field the object needs is absent.
        case missingField
        /// A field has the wrong shape: text where a number belongs, a list where a mapping belongs.
        case wrongType
        /// A field has the right shape but a value Kubernetes (or the CNI) refuses.
        case invalidValue
        /// The same object (kind, namespace, name) appears twice.
        case duplicateObject
    }

    public var code: Code
    public var location: ManifestLocation
    public var message: String

    public init(_ code: Code, _ location: ManifestLocation, _ message: String) {
        self.code = code
        self.location = location
        self.message = message
    }

    public var description: String { "\(location): \(message)" }

    static func unreadable(_ path: String, _ reason: String) -> ManifestError {
        ManifestError(.unreadable, ManifestLocation(file: path, line: 1, column: 1), "cannot read \(path): \(reason)")
    }

    static func invalidYAML(_ location: ManifestLocation, _ what: String) -> ManifestError {
        ManifestError(.invalidYAML, location, "invalid YAML: \(what)")
    }

    static func notAnObject(_ location: ManifestLocation, _ what: String) -> ManifestError {
        ManifestError(.notAnObject, location, what)
    }

    static func missingField(_ location: ManifestLocation, object: String, field: String) -> ManifestError {
        ManifestError(.missingField, location, "\(object) needs a '\(field)' field")
    }

    static func wrongType(_ location: ManifestLocation, field: String, expected: String) -> ManifestError {
        ManifestError(.wrongType, location, "\(field) must be \(expected)")
    }

    static func invalidValue(_ location: ManifestLocation, field: String, _ problem: String) -> ManifestError {
        ManifestError(.invalidValue, location, "\(field): \(problem)")
    }

    static func duplicate(_ location: ManifestLocation, _ object: ObjectReference, first: ManifestLocation) -> ManifestError {
        ManifestError(.duplicateObject, location, "\(object) is defined twice; the first is at \(first)")
    }
}
