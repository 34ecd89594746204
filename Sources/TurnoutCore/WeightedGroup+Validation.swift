extension WeightedGroup {
    /// Checks one listener's forward action: known groups, each named once, weights in 0...999, at least one
    /// above 0. Shared by configuration validation and runtime routing changes so both refuse the same things.
    static func validate(
        _ forward: [WeightedGroup],
        listener: String,
        groupExists: (String) -> Bool
    ) throws(ConfigError) {
        let forwardKey = "listeners.\(listener).forward"
        var seen: Set<String> = []
        for entry in forward {
            let key = "\(forwardKey).\(entry.group)"
            guard groupExists(entry.group) else {
                throw ConfigError(key: key, message: "unknown target group '\(entry.group)'")
            }
            guard seen.insert(entry.group).inserted else {
                throw ConfigError(key: key, message: "target group '\(entry.group)' is listed more than once")
            }
            guard weightRange.contains(entry.weight) else {
                throw ConfigError(
                    key: key,
                    message: "weight must be an integer \(weightRange.lowerBound)...\(weightRange.upperBound), got \(entry.weight)"
                )
            }
        }
        guard forward.contains(where: { $0.weight > 0 }) else {
            throw ConfigError(
                key: forwardKey,
                message: forward.isEmpty
                    ? "expected at least one target group, e.g. { blue: 100 }"
                    : "at least one weight must be above 0"
            )
        }
    }
}
