import ClusterSim
import Foundation
import Testing

/// report.html opened in a real browser (headless Chromium): the page runs without a single console
/// message, the DOM holds every node, link, firewall and drop that report.json lists, the zoom works, and
/// the screenshot is a picture, not a blank page. Skips, saying why, where no Chromium can run.
///
/// `OVERLAY_SIM_RECORD_SCREENSHOT=1 swift test --filter BrowserTests` also writes the default scenario's
/// screenshot to docs/report-default.png (the README's picture).
@Suite("report.html in headless Chromium", .serialized)
struct BrowserTests {
    static let docsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("docs").path

    static func browser() -> HeadlessChromium? {
        if HeadlessChromium.found.browser == nil { print("skipped: \(HeadlessChromium.found.reason)") }
        return HeadlessChromium.found.browser
    }

    @Test("a page with a deliberate script error is caught by its console messages")
    func deliberateErrorIsCaught() throws {
        guard let browser = Self.browser() else { return }
        let folder = try temporaryFolder("browser-error")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // The default scenario's page with one broken statement after the page's own script.
        let page = try PageCase(name: "default").report().html()
            .replacingOccurrences(of: "</body>", with: "<script>document.querySelector('#no-such-thing').remove();</script>\n</body>")
        try page.write(toFile: folder + "/broken.html", atomically: true, encoding: .utf8)
        let broken = try browser.dumpDOM(of: folder + "/broken.html")
        #expect(broken.consoleMessages.contains { $0.contains("Uncaught TypeError") }, "\(broken.consoleMessages)")
        // An error thrown inside the page's own script, before it finishes, is caught too: and the page
        // then never marks itself ready.
        let early = try PageCase(name: "default").report().html()
            .replacingOccurrences(of: "var controls={};", with: "var controls={}; undefinedFunction();")
        try early.write(toFile: folder + "/early.html", atomically: true, encoding: .utf8)
        let earlyResult = try browser.dumpDOM(of: folder + "/early.html")
        #expect(earlyResult.consoleMessages.contains { $0.contains("undefinedFunction is not defined") }, "\(earlyResult.consoleMessages)")
        #expect(!earlyResult.stdout.contains("data-ready=\"true\""))
        // And a fetch the page must not make: the Content-Security-Policy refuses it, loudly.
        let fetching = try PageCase(name: "default").report().html()
            .replacingOccurrences(of: "</body>", with: "<img src=\"https://example.com/tracker.png\" alt=\"\">\n</body>")
        try fetching.write(toFile: folder + "/fetching.html", atomically: true, encoding: .utf8)
        let fetched = try browser.dumpDOM(of: folder + "/fetching.html")
        #expect(fetched.consoleMessages.contains { $0.contains("Content Security Policy") }, "\(fetched.consoleMessages)")
    }

    @Test("the page runs cleanly and its DOM holds what report.json lists", arguments: PageCase.all)
    func pageInBrowser(_ pageCase: PageCase) throws {
        guard let browser = Self.browser() else { return }
        let report = try pageCase.report()
        let folder = try temporaryFolder("browser-\(pageCase.name)")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try report.html().write(toFile: folder + "/report.html", atomically: true, encoding: .utf8)
        // What report.json says, read back from its JSON (the page must agree with the file beside it).
        let json = try JSONDecoder().decode(Report.self, from: Data(report.json().utf8))
        let topology = try #require(json.topology)

        let result = try browser.dumpDOM(of: folder + "/report.html")
        #expect(result.status == 0)
        #expect(result.consoleMessages.isEmpty, "console: \(result.consoleMessages)")
        let dom = result.stdout
        #expect(dom.contains("data-ready=\"true\""), "the page's script did not finish")

        let nodeTags = tags(in: dom, classPrefix: "node\"")
        for node in topology.nodes {
            #expect(nodeTags.contains { $0.contains("data-name=\"\(serialisedAttribute(node.name))\"") }, "node \(node.name) not drawn")
        }
        #expect(nodeTags.count == topology.nodes.count)
        let devices = tags(in: dom, classPrefix: "device ")
        for device in topology.routers + topology.switches {
            #expect(devices.contains { $0.contains("data-name=\"\(serialisedAttribute(device))\"") }, "\(device) not drawn")
        }
        // Every link, in the drawing (a line per link, or for a full mesh a spoke per node) and, when it
        // carried packets, in the links table.
        let pairs = Set(json.links.map { [$0.from, $0.to].sorted().joined(separator: "|") })
        let drawn = Set((topology.fullMesh ? [] : tags(in: dom, classPrefix: "link ")) + tags(in: dom, classPrefix: "spoke ")
            + dom.components(separatedBy: "<tr data-link=").dropFirst().map { "data-link=" + $0.prefix(200) }
        ).compactMap { tag -> String? in
            guard let range = tag.range(of: "data-link=\"") else { return nil }
            let names = tag[range.upperBound...].prefix { $0 != "\"" }.split(separator: "|").map(String.init).sorted()
            return names.joined(separator: "|")
        }
        let drawnPairs = Set(drawn)
        for link in json.links where !topology.fullMesh || link.packets > 0 {
            let pair = [link.from, link.to].sorted().joined(separator: "|")
            #expect(drawnPairs.contains(pair), "link \(pair) is not in the page")
        }
        if topology.fullMesh {
            #expect(tags(in: dom, classPrefix: "spoke ").count == topology.nodes.count)
        } else {
            #expect(tags(in: dom, classPrefix: "link ").count == pairs.count)
        }
        // Every drop of every flow has its mark with the count and the code, and its sentence in a title.
        let marks = tags(in: dom, classPrefix: "drop\"")
        for flow in json.flows {
            for drop in flow.drops {
                let attributes = "data-flow=\"\(serialisedAttribute(flow.name))\" data-place=\"\(serialisedAttribute(drop.place))\" data-code=\"\(drop.code.rawValue)\" data-count=\"\(drop.count)\""
                #expect(marks.contains { $0.contains(attributes) }, "no mark for \(flow.name): \(drop.count)× \(drop.code.rawValue) at \(drop.place)")
            }
        }
        #expect(Set(marks).count >= Set(json.flows.flatMap { flow in flow.drops.map { "\(flow.name)|\($0.place)|\($0.code.rawValue)" } }).count)
        for firewall in topology.firewalls {
            #expect(tags(in: dom, classPrefix: "firewall\"").contains { $0.contains("data-name=\"\(serialisedAttribute(firewall.name))\"") },
                    "firewall \(firewall.name) not marked")
        }
        for policy in topology.networkPolicies where !policy.pods.isEmpty {
            #expect(tags(in: dom, classPrefix: "policy").contains { $0.contains(serialisedAttribute("\(policy.namespace)/\(policy.name)")) },
                    "NetworkPolicy \(policy.name) not marked")
        }
        if let explanation = json.explanation {
            // One step per trace line that is not a rule-by-rule detail of the line before it.
            let steps = tags(in: dom, classPrefix: "step")
            let events = explanation.lines.filter { line in
                guard let colon = line.range(of: ": ") else { return false }
                return !line[colon.upperBound...].hasPrefix("  ")
            }
            #expect(steps.count == events.count, "\(steps.count) steps for \(events.count) trace events")
            #expect(steps.filter { $0.contains("dropped") }.count == events.filter { $0.contains(": dropped") }.count)
        }

        // The screenshot: a picture with many colours, the drop marks' red among them when there are drops.
        let png = folder + "/page.png"
        let shot = try browser.screenshot(of: folder + "/report.html", to: png)
        #expect(shot.consoleMessages.isEmpty, "console: \(shot.consoleMessages)")
        let image = try PNGImage(contentsOf: png)
        #expect(image.width == 1400 && image.height == 1800)
        #expect(image.distinctColours() > 32, "the screenshot is (nearly) one colour")
        if json.flows.contains(where: { !$0.drops.isEmpty }) {
            let red = (0..<image.height).contains { y in
                (0..<image.width).contains { x in let (r, g, b) = image.rgb(x, y); return r > 190 && g < 70 && b < 70 }
            }
            #expect(red, "no drop mark's red in the screenshot")
        }
        if pageCase.name == "default", ProcessInfo.processInfo.environment["OVERLAY_SIM_RECORD_SCREENSHOT"] == "1" {
            try? FileManager.default.removeItem(atPath: Self.docsFolder + "/report-default.png")
            try FileManager.default.copyItem(atPath: png, toPath: Self.docsFolder + "/report-default.png")
        }
    }

    @Test("zoom, pan and collapse work in the browser")
    func zoomAndPan() throws {
        guard let browser = Self.browser() else { return }
        let folder = try temporaryFolder("browser-zoom")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // After the page's script: click +, turn the wheel, drag, collapse all; then write what changed into
        // the DOM, where --dump-dom shows it.
        let probe = """
        <script>
        (function(){
          var svg=document.getElementById("topology-svg"), before=svg.getAttribute("viewBox");
          document.querySelector('button[data-zoom="in"][data-target="topology-svg"]').click();
          var zoomed=svg.getAttribute("viewBox");
          var r=svg.getBoundingClientRect();
          svg.dispatchEvent(new WheelEvent("wheel",{deltaY:100,clientX:r.left+10,clientY:r.top+10,bubbles:true,cancelable:true}));
          var wheeled=svg.getAttribute("viewBox");
          svg.dispatchEvent(new PointerEvent("pointerdown",{clientX:r.left+50,clientY:r.top+50,pointerId:1,bubbles:true}));
          svg.dispatchEvent(new PointerEvent("pointermove",{clientX:r.left+90,clientY:r.top+70,pointerId:1,bubbles:true}));
          svg.dispatchEvent(new PointerEvent("pointerup",{clientX:r.left+90,clientY:r.top+70,pointerId:1,bubbles:true}));
          var panned=svg.getAttribute("viewBox");
          document.querySelector('button[data-details="close"]').click();
          var open=document.querySelectorAll("details[open]").length;
          document.querySelector('button[data-zoom="reset"][data-target="topology-svg"]').click();
          var reset=svg.getAttribute("viewBox");
          document.body.setAttribute("data-probe",[before,zoomed,wheeled,panned,reset,open].join(";"));
        })();
        </script>
        """
        let page = try PageCase(name: "default").report().html().replacingOccurrences(of: "</body>", with: probe + "\n</body>")
        try page.write(toFile: folder + "/zoom.html", atomically: true, encoding: .utf8)
        let result = try browser.dumpDOM(of: folder + "/zoom.html")
        #expect(result.consoleMessages.isEmpty, "console: \(result.consoleMessages)")
        let marker = try #require(result.stdout.range(of: "data-probe=\""))
        let values = result.stdout[marker.upperBound...].prefix { $0 != "\"" }.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
        try #require(values.count == 6, "\(values)")
        let box = { (text: String) in text.split(separator: " ").compactMap { Double($0) } }
        #expect(box(values[1])[2] < box(values[0])[2], "+ did not zoom in: \(values[0]) → \(values[1])")
        #expect(box(values[2])[2] > box(values[1])[2], "the wheel did not zoom out: \(values[1]) → \(values[2])")
        #expect(box(values[3])[0] != box(values[2])[0], "dragging did not pan: \(values[2]) → \(values[3])")
        #expect(box(values[4]) == box(values[0]), "reset did not restore the view")
        #expect(values[5] == "0", "collapse all left \(values[5]) sections open")
    }

    @Test("names a scenario chose are text in the page, never markup")
    func hostileNames() throws {
        guard let browser = Self.browser() else { return }
        var scenario = try loadScenario("fw-udp-4789-blocked")
        let hostile = "<img src=x onerror=\"console.error('injected')\">&amp;'"
        scenario.name = hostile
        scenario.traffic[0].name = "ping" + hostile
        let report = try Simulation(scenario: scenario).run(captureDirectory: nil)
        let folder = try temporaryFolder("browser-hostile")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try report.html().write(toFile: folder + "/report.html", atomically: true, encoding: .utf8)
        let result = try browser.dumpDOM(of: folder + "/report.html")
        #expect(result.consoleMessages.isEmpty, "console: \(result.consoleMessages)")
        #expect(!result.stdout.contains("<img src=\"x\""), "a scenario's name became an element")
        #expect(result.stdout.contains("&lt;img src=x onerror=\"console.error('injected')\"&gt;&amp;amp;'"), "the name is not shown as text")
    }
}
