/// A reachability table as the Kubernetes e2e NetworkPolicy tests keep and print it
/// (test/e2e/network/netpol/truthtable.go): rows are sources, columns destinations, `.` connected,
/// `X` blocked, `?` not observed.
public struct TruthTable: Hashable, Sendable, CustomStringConvertible {
    public let froms: [String]
    public let tos: [String]
    private var cells: [Bool?]
    private let fromIndex: [String: Int]
    private let toIndex: [String: Int]

    /// A table over `froms` × `tos`, every cell `value`.
    public init(froms: [String], tos: [String], value: Bool? = nil) {
        self.froms = froms
        self.tos = tos
        cells = [Bool?](repeating: value, count: froms.count * tos.count)
        fromIndex = Dictionary(froms.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        toIndex = Dictionary(tos.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// A square table over `items`.
    public init(items: [String], value: Bool? = nil) {
        self.init(froms: items, tos: items, value: value)
    }

    /// Reads a table printed by ``description`` (or by the e2e tests): a header line `-` followed by the
    /// destinations, then one line per source, its name followed by a mark per destination. Words are
    /// separated by spaces or tabs; blank lines are skipped.
    /// - Throws: ``TruthTable/ParseError`` naming the line.
    public init(parsing text: String) throws(ParseError) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            .map { ($0 + 1, $1.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)) }
            .filter { !$0.1.isEmpty }
        guard let header = lines.first, header.1.first == "-" else {
            throw ParseError(line: lines.first?.0 ?? 1, message: "the first line must be '-' followed by the destinations")
        }
        let tos = Array(header.1.dropFirst())
        var froms: [String] = []
        var rows: [[Bool?]] = []
        for (number, words) in lines.dropFirst() {
            guard words.count == tos.count + 1 else {
                throw ParseError(line: number, message: "expected a source and \(tos.count) marks, found \(words.count) words")
            }
            var row: [Bool?] = []
            for mark in words.dropFirst() {
                switch mark {
                case ".": row.append(true)
                case "X": row.append(false)
                case "?": row.append(nil)
                default: throw ParseError(line: number, message: "'\(mark)' is not a mark ('.', 'X' or '?')")
                }
            }
            froms.append(words[0])
            rows.append(row)
        }
        self.init(froms: froms, tos: tos)
        cells = rows.flatMap { $0 }
    }

    /// A line of a table that could not be read.
    public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        public var line: Int
        public var message: String
        public var description: String { "line \(line): \(message)" }
    }

    /// The cell `from` → `to`; nil when not set or either name is not in the table. Setting a cell outside
    /// the table does nothing.
    public subscript(from: String, to: String) -> Bool? {
        get {
            guard let row = fromIndex[from], let column = toIndex[to] else { return nil }
            return cells[row * tos.count + column]
        }
        set {
            guard let row = fromIndex[from], let column = toIndex[to] else { return }
            cells[row * tos.count + column] = newValue
        }
    }

    /// The cells where `self` and `other` differ (a cell missing from either counts as a difference), in
    /// row order; with `ignoringSelf`, a pod's connection to itself is left out, as the e2e tests leave it.
    public func differences(from other: TruthTable, ignoringSelf: Bool = true) -> [(from: String, to: String)] {
        var result: [(from: String, to: String)] = []
        for from in froms {
            for to in tos where !(ignoringSelf && from == to) {
                let mine = self[from, to]
                if mine == nil || mine != other[from, to] { result.append((from, to)) }
            }
        }
        return result
    }

    /// The e2e tests' "comparison" table: `.` where both agree, `X` where they differ.
    public func comparison(with other: TruthTable) -> TruthTable {
        var table = TruthTable(froms: froms, tos: tos)
        for from in froms {
            for to in tos { table[from, to] = self[from, to] != nil && self[from, to] == other[from, to] }
        }
        return table
    }

    /// The table in columns: a header `-` and the destinations, then a line per source.
    public var description: String {
        let width = max(1, (froms + tos).map(\.count).max() ?? 1) + 1
        func pad(_ text: String) -> String { text + String(repeating: " ", count: max(1, width - text.count)) }
        var lines = [(pad("-") + tos.map(pad).joined()).trimmingTrailingSpaces]
        for from in froms {
            let marks = tos.map { to -> String in
                switch self[from, to] {
                case true?: pad(".")
                case false?: pad("X")
                case nil: pad("?")
                }
            }
            lines.append((pad(from) + marks.joined()).trimmingTrailingSpaces)
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    fileprivate var trimmingTrailingSpaces: String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
