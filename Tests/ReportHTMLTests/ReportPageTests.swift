@testable import ClusterSim
import Foundation
import Testing
@testable import overlay_sim

/// report.html without a browser: deterministic, self-contained, small, escaped, and written by `run`
/// into the output folder's transaction and to `--html FILE`.
@Suite("report.html: the page")
struct ReportPageTests {
    @Test("the same run gives the same bytes", arguments: [PageCase(name: "default"), PageCase(name: "fw-udp-4789-blocked", explain: "ping-backend")])
    func deterministic(_ pageCase: PageCase) throws {
        let first = try pageCase.simulate().html(), second = try pageCase.simulate().html()
        #expect(first == second)
        var other = try loadScenario(pageCase.name)
        other.seed += 1
        #expect(try Simulation(scenario: other).run(captureDirectory: nil).html() != first, "the seed is not in the page")
    }

    @Test("the page fetches nothing: no external URL, no src, no link element")
    func selfContained() throws {
        let page = try PageCase(name: "fw-udp-4789-blocked", explain: "ping-backend").report().html()
        // SVG's namespace name is a URI that is never fetched; it is the only one allowed.
        let withoutNamespace = page.replacingOccurrences(of: "xmlns=\"http://www.w3.org/2000/svg\"", with: "")
        #expect(!withoutNamespace.contains("http://") && !withoutNamespace.contains("https://"))
        #expect(!page.contains(" src=") && !page.contains("<link") && !page.contains("@import") && !page.contains("url("))
        #expect(page.contains("Content-Security-Policy\" content=\"default-src 'none'"))
    }

    @Test("the 100-node scenario's page is under 2 MB and groups and collapses what is long")
    func hundredNodesSmall() throws {
        let report = try PageCase(name: "large-100-nodes", countPerClient: 2).report()
        let page = report.html()
        let bytes = page.utf8.count
        print("large-100-nodes (2 packets per client): report.html \(bytes) bytes, report.json \(report.json().utf8.count) bytes")
        #expect(bytes < 2_000_000)
        #expect(report.pods.count == 5000 && report.links.count == 9900)
        // The 9,900 link directions are one hub and a spoke per node, not 4,950 lines.
        #expect(page.components(separatedBy: "<line class=\"spoke").count - 1 == 100)
        #expect(!page.contains("<line class=\"link"))
        // Pods are listed by workload in closed sections; each node's box counts them instead.
        #expect(page.contains("<details data-workload=\"dns\"><summary>dns (4900 pods)</summary>"))
        #expect(page.contains("<details id=\"links\">"), "the links table of a 100-node mesh starts collapsed")
    }

    @Test("every string from the scenario is escaped")
    func escaping() throws {
        #expect(HTMLText.escape("<a href=\"x\">'&'</a>") == "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;")
        #expect(HTMLText.escape("tab\tnul\u{0}bell\u{7}") == "tab\tnul\u{FFFD}bell\u{FFFD}")
        var scenario = try loadScenario("default")
        scenario.name = "</title><script>alert(1)</script>"
        scenario.traffic[0].name = "\"><svg onload=alert(2)>"
        let page = try Simulation(scenario: scenario).run(captureDirectory: nil).html()
        #expect(!page.contains("<script>alert") && !page.contains("<svg onload"))
        #expect(page.contains("&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(page.contains("data-flow=\"&quot;&gt;&lt;svg onload=alert(2)&gt;\""))
        // The page has exactly its own two script elements' worth of `<script`: one, plus none from names.
        #expect(page.components(separatedBy: "<script").count == 2)
    }

    @Test("run --out writes report.html in the folder's transaction, and --html FILE writes the same page")
    func runWritesThePage() throws {
        let folder = try temporaryFolder("run-html")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let out = folder + "/out", page = folder + "/pages/fw.html"
        var command = try OverlaySim.parseAsRoot(["run", "\(scenariosFolder)/fw-udp-4789-blocked.yaml", "--out", out, "--html", page,
                                                  "--explain", "ping-backend"])
        try command.run()
        let inFolder = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        let beside = try String(contentsOfFile: page, encoding: .utf8)
        #expect(inFolder == beside)
        #expect(inFolder.contains("id=\"sequence-svg\""))
        let json = try JSONDecoder().decode(Report.self, from: Data(contentsOf: URL(fileURLWithPath: out + "/report.json")))
        #expect(inFolder == json.html(), "the page is not drawn from report.json's data alone")
        // Nothing half-written is left beside either.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder + "/pages") + FileManager.default.contentsOfDirectory(atPath: folder)
        #expect(!leftovers.contains { $0.contains(".partial-") || $0.contains(".run-") })
        // A second run into the folder is allowed: report.html is a file runs write.
        var again = try OverlaySim.parseAsRoot(["run", "\(scenariosFolder)/fw-udp-4789-blocked.yaml", "--out", out])
        try again.run()
        #expect(FileManager.default.fileExists(atPath: out + "/report.html"))
        // --html naming a folder is refused with the path.
        var refused = try OverlaySim.parseAsRoot(["run", "\(scenariosFolder)/fw-udp-4789-blocked.yaml", "--no-captures", "--html", folder])
        #expect(throws: (any Error).self) { try refused.run() }
    }
}
