import Foundation

/// The fixture files of this test target (copied as resources).
enum FixtureFiles {
    static var root: URL {
        Bundle.module.resourceURL?.appendingPathComponent("Fixtures") ?? URL(fileURLWithPath: "Fixtures")
    }

    /// The files of a fixture folder, sorted by name.
    static func files(in folder: String, ending: String = ".yaml") -> [URL] {
        let directory = root.appendingPathComponent(folder)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(ending) }.sorted().map { directory.appendingPathComponent($0) }
    }

    static func text(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }
}
