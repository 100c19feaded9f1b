/// A label selector (k8s.io/apimachinery `metav1.LabelSelector`): every `matchLabels` pair and every
/// `matchExpressions` requirement must hold. The empty selector selects everything.
public struct LabelSelector: Hashable, Sendable, CustomStringConvertible {
    public var matchLabels: [String: String]
    public var matchExpressions: [LabelRequirement]

    public init(matchLabels: [String: String] = [:], matchExpressions: [LabelRequirement] = []) {
        self.matchLabels = matchLabels
        self.matchExpressions = matchExpressions
    }

    /// `{}`: selects every pod (or namespace).
    public static let everything = LabelSelector()

    public var selectsEverything: Bool { matchLabels.isEmpty && matchExpressions.isEmpty }

    /// Whether `labels` satisfy every requirement (apimachinery `labels.Selector.Matches`).
    public func matches(_ labels: [String: String]) -> Bool {
        for (key, value) in matchLabels where labels[key] != value { return false }
        for requirement in matchExpressions where !requirement.matches(labels) { return false }
        return true
    }

    /// The selector as `kubectl get -l` writes it (`pod=b,ns in (x,y),!tier`); `{}` for the empty selector.
    public var description: String {
        if selectsEverything { return "{}" }
        let pairs = matchLabels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return (pairs + matchExpressions.map(\.description)).joined(separator: ",")
    }
}

/// One `matchExpressions` entry.
public struct LabelRequirement: Hashable, Sendable, CustomStringConvertible {
    public enum Operator: String, Hashable, Sendable, CaseIterable {
        case `in` = "In"
        case notIn = "NotIn"
        case exists = "Exists"
        case doesNotExist = "DoesNotExist"
    }

    public var key: String
    public var `operator`: Operator
    /// Non-empty for In and NotIn, empty for Exists and DoesNotExist (the API validates this).
    public var values: [String]

    public init(key: String, operator: Operator, values: [String] = []) {
        self.key = key
        self.operator = `operator`
        self.values = values
    }

    /// apimachinery `labels.Requirement.Matches`: NotIn and DoesNotExist hold for objects without the key.
    public func matches(_ labels: [String: String]) -> Bool {
        let value = labels[key]
        switch `operator` {
        case .in: return value.map(values.contains) ?? false
        case .notIn: return value.map { !values.contains($0) } ?? true
        case .exists: return value != nil
        case .doesNotExist: return value == nil
        }
    }

    public var description: String {
        let list = "(" + values.sorted().joined(separator: ",") + ")"
        switch `operator` {
        case .in: return "\(key) in \(list)"
        case .notIn: return "\(key) notin \(list)"
        case .exists: return key
        case .doesNotExist: return "!\(key)"
        }
    }
}
