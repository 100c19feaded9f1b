import Foundation
import PacketWire

/// Reads one object's fields into a model value; shared checks for names, ports and addresses.
struct ObjectReading {
    let collector: ManifestCollector

    func warn(_ value: ManifestValue, _ object: ObjectReference, _ message: String) {
        collector.warn(value, object, message)
    }

    // MARK: - Metadata

    /// `metadata`: name (required), namespace (`default` for namespaced kinds), labels, annotations, owners.
    func metadata(_ object: ManifestValue, kind: String, namespaced: Bool) throws(ManifestError) -> ObjectMetadata {
        let metadata = try object.required("metadata", in: "a \(kind)")
        let name = try metadata.required("name", in: "a \(kind)").string()
        var namespace: String?
        if namespaced {
            namespace = try (try metadata.field("namespace"))?.string() ?? "default"
        }
        let labels = try (try metadata.field("labels"))?.stringMap() ?? [:]
        for (key, value) in try (try metadata.field("labels"))?.entries() ?? [] {
            try checkLabel(key: key, value: labels[key] ?? "", at: value)
        }
        let annotations = try (try metadata.field("annotations"))?.stringMap() ?? [:]
        var owners: [ObjectReference] = []
        for owner in try (try metadata.field("ownerReferences"))?.list() ?? [] {
            owners.append(ObjectReference(kind: try owner.required("kind", in: "an owner reference").string(),
                                          namespace: namespace,
                                          name: try owner.required("name", in: "an owner reference").string()))
        }
        return ObjectMetadata(name: name, namespace: namespace, labels: labels, annotations: annotations,
                              owners: owners, location: object.location)
    }

    /// A label key (`[prefix/]name`, the name at most 63 characters of alphanumerics, `-`, `_`, `.`, starting
    /// and ending alphanumeric) and value (the same rule, or empty): apimachinery `IsQualifiedName`, `IsValidLabelValue`.
    func checkLabel(key: String, value: String, at node: ManifestValue) throws(ManifestError) {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        let name = parts.last.map(String.init) ?? ""
        guard parts.count <= 2, Self.isLabelWord(name), !name.isEmpty,
              parts.count == 1 || (!parts[0].isEmpty && parts[0].count <= 253) else {
            throw node.invalid("'\(key)' is not a valid label key ([prefix/]name, name of at most 63 letters, digits, '-', '_', '.')")
        }
        guard Self.isLabelWord(value) else {
            throw node.invalid("'\(value)' is not a valid label value (at most 63 letters, digits, '-', '_', '.', starting and ending with a letter or digit)")
        }
    }

    static func isLabelWord(_ text: String) -> Bool {
        if text.isEmpty { return true }
        guard text.count <= 63, let first = text.first, let last = text.last,
              first.isASCII, first.isLetter || first.isNumber, last.isASCII, last.isLetter || last.isNumber else { return false }
        return text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }
    }

    // MARK: - Shared values

    /// A port number, 1...65535.
    func port(_ value: ManifestValue) throws(ManifestError) -> UInt16 {
        UInt16(try value.int(in: 1...65535))
    }

    /// `TCP`, `UDP` or `SCTP`; TCP when absent.
    func transportProtocol(_ value: ManifestValue?) throws(ManifestError) -> TransportProtocol {
        guard let value else { return .tcp }
        return try value.oneOf(TransportProtocol.self)
    }

    /// An IANA service name, as container port names and named ports must be (apimachinery
    /// `IsValidPortName`): at most 15 lower-case letters, digits and '-', at least one letter, no '--', not
    /// starting or ending with '-'.
    func checkPortName(_ name: String, at value: ManifestValue) throws(ManifestError) {
        let valid = !name.isEmpty && name.count <= 15
            && name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }
            && name.contains { $0.isLetter } && !name.contains("--")
            && !name.hasPrefix("-") && !name.hasSuffix("-")
        guard valid else {
            throw value.invalid("'\(name)' is not a valid port name (at most 15 lower-case letters, digits and '-', with at least one letter)")
        }
    }

    /// A port by number or by name (`IntOrString`).
    func portReference(_ value: ManifestValue) throws(ManifestError) -> PortReference {
        if case .scalar(let scalar) = value.node, scalar.style == .plain, value.node.int != nil {
            return .number(try port(value))
        }
        let name = try value.string()
        try checkPortName(name, at: value)
        return .name(name)
    }

    /// An IPv4 or IPv6 address.
    func address(_ value: ManifestValue) throws(ManifestError) -> IPAddress {
        let text = try value.string()
        guard let address = IPAddress(text) else { throw value.invalid("'\(text)' is not an IP address") }
        return address
    }

    /// `ADDRESS/LENGTH`.
    func cidr(_ value: ManifestValue) throws(ManifestError) -> CIDR {
        let text = try value.string()
        guard let cidr = CIDR(text) else { throw value.invalid("'\(text)' is not a CIDR such as 10.0.0.0/16") }
        return cidr
    }

    /// A MAC address `aa:bb:cc:dd:ee:ff`.
    func mac(_ value: ManifestValue) throws(ManifestError) -> MACAddress {
        let text = try value.string()
        guard let mac = MACAddress(text) else { throw value.invalid("'\(text)' is not a MAC address") }
        return mac
    }

    /// A whole number written as text (ConfigMap data): `"8472"`.
    func number(inText value: ManifestValue, in range: ClosedRange<Int>) throws(ManifestError) -> Int {
        let text = try value.string().trimmingCharacters(in: .whitespaces)
        guard let number = Int(text), text.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw value.invalid("'\(text)' is not a whole number")
        }
        guard range.contains(number) else {
            throw value.invalid("\(number) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }
}
