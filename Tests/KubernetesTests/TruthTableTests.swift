import Kubernetes
import Testing

@Suite("Truth tables")
struct TruthTableTests {
    @Test("printed and read back; '.' connected, 'X' blocked, '?' unknown")
    func roundTrip() throws {
        var table = TruthTable(items: ["x/a", "x/b", "y/a"], value: true)
        table["x/a", "y/a"] = false
        table["y/a", "x/b"] = nil
        #expect(table.description == """
            -   x/a x/b y/a
            x/a .   .   X
            x/b .   .   .
            y/a .   ?   .
            """)
        #expect(try TruthTable(parsing: table.description) == table)
    }

    @Test("the e2e tests' own tab-separated print is read")
    func e2eFormat() throws {
        let table = try TruthTable(parsing: "-\t\tx/a\tx/b\nx/a\tX\t\t.\t\nx/b\t.\t\tX\t\n")
        #expect(table.froms == ["x/a", "x/b"])
        #expect(table["x/a", "x/a"] == false && table["x/a", "x/b"] == true && table["x/b", "x/b"] == false)
    }

    @Test("differences leave out a pod to itself unless asked, and count unknown cells")
    func differences() throws {
        let expected = try TruthTable(parsing: "- a b\na X .\nb . .\n")
        let observed = try TruthTable(parsing: "- a b\na . .\nb X ?\n")
        #expect(expected.differences(from: observed).map { "\($0.from)>\($0.to)" } == ["b>a"])
        #expect(expected.differences(from: observed, ignoringSelf: false).map { "\($0.from)>\($0.to)" } == ["a>a", "b>a", "b>b"])
        #expect(expected.comparison(with: observed).description == "- a b\na X .\nb X X")
    }

    @Test("a malformed table names its line", arguments: [
        ("x/a x/b\n", 1),
        ("- a b\na . .\nb . \n", 3),
        ("- a\n\na +\n", 3),
    ])
    func malformed(text: String, line: Int) {
        #expect(throws: TruthTable.ParseError.self) { try TruthTable(parsing: text) }
        do {
            _ = try TruthTable(parsing: text)
        } catch {
            #expect(error.line == line)
        }
    }
}
