/// What runs that the configuration file does not say: a listener's forward or a group's target list changed
/// at runtime (the admin API, the CLI, or saved state restored at start).
///
/// The rule: the file gives the first forwards and target lists; a runtime change is saved and outlives
/// restarts (saved state wins over the file at start) until the file itself changes that value and is
/// reloaded, or `POST /v1/reset` puts the file's values back. The status and the start-up warning list these.
public struct ConfigDifference: Sendable, Equatable, CustomStringConvertible {
    public enum Value: Sendable, Equatable {
        /// A listener's forward: the one in force and the file's.
        case forward(listener: String, running: [WeightedGroup], file: [WeightedGroup])
        /// A group's target list as registered (addresses and names): the one in force and the file's.
        case targets(group: String, running: [HostPort], file: [HostPort])
    }

    public let value: Value

    /// The configuration key: `listeners.production.forward`, `target_groups.blue.targets`.
    public var key: String {
        switch value {
        case .forward(let listener, _, _): "listeners.\(listener).forward"
        case .targets(let group, _, _): "target_groups.\(group).targets"
        }
    }

    /// `listeners.production.forward is blue=70 green=30 (the file: blue=100)`.
    public var description: String {
        switch value {
        case .forward(_, let running, let file):
            "\(key) is \(WeightedGroup.describe(running)) (the file: \(WeightedGroup.describe(file)))"
        case .targets(_, let running, let file):
            "\(key) is \(Self.describe(running)) (the file: \(Self.describe(file)))"
        }
    }

    private static func describe(_ targets: [HostPort]) -> String {
        "[" + targets.map(\.description).joined(separator: ", ") + "]"
    }
}

extension RoutingTable {
    /// Where this table's forwards and target lists differ from `config`'s, listeners first, each in
    /// configuration order. A forward is compared by group and weight (the order groups are written in is no
    /// difference; a group listed at 0 is); a target list as registered (names, not the addresses they resolved
    /// to), as a list, as a reload compares it.
    public func differences(from config: TurnoutConfig) -> [ConfigDifference] {
        var differences: [ConfigDifference] = []
        for listener in config.listeners {
            guard let index = listenerIndex(named: listener.name) else { continue }
            let running = forward(ofListener: index)
            if Self.weightsByGroup(running) != Self.weightsByGroup(listener.forward) {
                differences.append(ConfigDifference(value: .forward(listener: listener.name, running: running,
                                                                    file: listener.forward)))
            }
        }
        for group in config.targetGroups {
            guard let index = groupIndex(named: group.name) else { continue }
            let running = groups[index].registered
            if running != group.targets {
                differences.append(ConfigDifference(value: .targets(group: group.name, running: running,
                                                                    file: group.targets)))
            }
        }
        return differences
    }

    /// This table with `config`'s forwards and target lists (its group settings are the configuration's
    /// already: only a reload changes them), as generation `generation`.
    public func withForwardsAndTargets(of config: TurnoutConfig, generation: UInt64) throws -> RoutingTable {
        let targets = Dictionary(config.targetGroups.map { ($0.name, $0.targets) }, uniquingKeysWith: { first, _ in first })
        let forwards = Dictionary(config.listeners.map { ($0.name, $0.forward) }, uniquingKeysWith: { first, _ in first })
        return try replacingTargets(targets, generation: generation).replacingForward(forwards, generation: generation)
    }

    private static func weightsByGroup(_ forward: [WeightedGroup]) -> [String: Int] {
        Dictionary(forward.map { ($0.group, $0.weight) }, uniquingKeysWith: { first, _ in first })
    }
}
