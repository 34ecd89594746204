extension TargetGroupConfig {
    /// Checks a group's target list: every target has a port, none is listed twice. Shared by configuration
    /// validation and runtime target changes.
    static func validateTargets(_ targets: [HostPort], group: String) throws(ConfigError) {
        for (index, target) in targets.enumerated() {
            let key = "target_groups.\(group).targets[\(index)]"
            if target.port == 0 {
                throw ConfigError(key: key, message: "a target needs a port 1...65535, got \(target)")
            }
            if let first = targets[..<index].firstIndex(of: target) {
                throw ConfigError(key: key, message: "duplicate target \(target) (also targets[\(first)])")
            }
        }
    }
}
