import Yams

/// Reads the `sysctl:` section: a mapping of sysctl names (as `sysctl -a` prints them, dots or slashes) to
/// values, each checked against the range the kernel accepts.
extension Context {
    func sysctls(_ node: Node) throws(ScenarioError) -> Sysctls {
        guard case .mapping(let mapping) = node else { throw error(node, "sysctl must be a mapping of sysctl names to values") }
        var sysctls = Sysctls()
        var seen = Set<String>()
        for (key, value) in mapping {
            let name = try string(key, "a sysctl name").replacingOccurrences(of: "/", with: ".")
            guard let setting = Sysctls.settings.first(where: { $0.name == name }) else {
                let known = Sysctls.settings.map(\.name).joined(separator: ", ")
                throw error(key, "sysctl '\(name)' is not one the simulation models; it knows: \(known)")
            }
            guard seen.insert(name).inserted else { throw error(key, "sysctl '\(name)' appears twice") }
            switch setting.kind {
            case .count(let range), .seconds(let range), .milliseconds(let range), .microseconds(let range):
                setting.set(&sysctls, try int(value, name, in: range))
            case .boolean:
                if let flag = value.bool {
                    setting.set(&sysctls, flag ? 1 : 0)
                } else {
                    setting.set(&sysctls, try int(value, name, in: 0...1))
                }
            }
        }
        return sysctls
    }
}
