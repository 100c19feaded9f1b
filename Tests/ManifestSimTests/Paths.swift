import Foundation

/// The repository's folders, found from this file: the e2e fixtures live with KubernetesTests, the catalogue's
/// manifest scenarios under Scenarios/.
enum RepositoryPaths {
    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }
}
