extension WeightedGroup {
    /// Checks one listener's forward action: known groups, each named once, weights in 0...100 that add up to
    /// 100. Shared by configuration validation, runtime routing changes and the admin API so that all refuse the
    /// same things.
    ///
    /// - Parameter key: the key the forward is found under (`listeners.production.forward` in the file, a field
    ///   of the request in the API; empty for a request body that is the forward itself). An entry's errors are
    ///   reported under `key.group`.
    public static func validate(
        _ forward: [WeightedGroup],
        key: String,
        groupExists: (String) -> Bool
    ) throws(ConfigError) {
        var seen: Set<String> = []
        for entry in forward {
            let entryKey = key.isEmpty ? entry.group : "\(key).\(entry.group)"
            guard groupExists(entry.group) else {
                throw ConfigError(key: entryKey, message: "unknown target group '\(entry.group)'")
            }
            guard seen.insert(entry.group).inserted else {
                throw ConfigError(key: entryKey, message: "target group '\(entry.group)' is listed more than once")
            }
            guard weightRange.contains(entry.weight) else {
                throw ConfigError(
                    key: entryKey,
                    message: "weight must be a percentage \(weightRange.lowerBound)...\(weightRange.upperBound), got \(entry.weight)"
                )
            }
        }
        guard !forward.isEmpty else {
            throw ConfigError(key: key, message: "expected at least one target group, e.g. { blue: 100 }")
        }
        let sum = forward.reduce(0) { $0 + $1.weight }
        guard sum == total else {
            var message = "weights are percentages and must add up to \(total), not \(sum)"
            if sum > 0 { message += " (in proportion, these would send \(proportions(of: forward)))" }
            throw ConfigError(key: key, message: message)
        }
    }
}
