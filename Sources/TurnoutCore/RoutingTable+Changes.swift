extension RoutingTable {
    /// A new table in which the named listeners' forward actions are replaced (listener name → its complete new
    /// forward list), all in one generation. Listeners not named keep theirs.
    ///
    /// - Parameter generation: the new table's generation; `self.generation + 1` when nil. Restoring saved state
    ///   passes the saved generation.
    /// - Throws: `ConfigError` (without a line) for an unknown listener (`listeners.<name>`), an unknown or
    ///   repeated group or a weight outside 0...100 (`listeners.<name>.forward.<group>`), or weights that do not
    ///   add up to 100 (`listeners.<name>.forward`). Nothing changes when it throws.
    public func replacingForward(_ changes: [String: [WeightedGroup]], generation: UInt64? = nil) throws -> RoutingTable {
        var listeners = self.listeners
        // Sorted so that the error reported for several bad listeners does not depend on hash order.
        for (name, forward) in changes.sorted(by: { $0.key < $1.key }) {
            guard let index = listenerIndex(named: name) else {
                throw ConfigError(key: "listeners.\(name)", message: "unknown listener '\(name)'")
            }
            try WeightedGroup.validate(forward, key: "listeners.\(name).forward") { groupIndex(named: $0) != nil }
            let old = listeners[index]
            listeners[index] = ListenerRoute(
                name: old.name,
                bind: old.bind,
                groupIndices: forward.map { groupIndex(named: $0.group)! },
                weights: forward.map(\.weight)
            )
        }
        return RoutingTable(generation: generation ?? self.generation + 1, listeners: listeners, groups: groups)
    }

    /// A new table in which the named groups' target lists are replaced (group name → all its targets), all in
    /// one generation.
    ///
    /// - Throws: `ConfigError` for an unknown group (`target_groups.<name>`), a target with port 0 or a duplicate
    ///   target (`target_groups.<name>.targets[<i>]`).
    public func replacingTargets(_ changes: [String: [HostPort]], generation: UInt64? = nil) throws -> RoutingTable {
        var groups = self.groups
        for (name, targets) in changes.sorted(by: { $0.key < $1.key }) {
            guard let index = groupIndex(named: name) else {
                throw ConfigError(key: "target_groups.\(name)", message: "unknown target group '\(name)'")
            }
            try TargetGroupConfig.validateTargets(targets, group: name)
            groups[index] = groups[index].replacingTargets(targets)
        }
        return RoutingTable(generation: generation ?? self.generation + 1, listeners: listeners, groups: groups)
    }

    /// A new table in which the named groups take the settings of their new configuration (algorithm, health
    /// check, deregistration delay, all-unhealthy policy, passive ejection, timeouts), keeping the targets they
    /// have. `timeouts` is the top-level section, for what a group leaves unset.
    ///
    /// - Throws: `ConfigError` for an unknown group (`target_groups.<name>`).
    public func replacingGroupSettings(_ changes: [String: TargetGroupConfig], timeouts: Timeouts,
                                       generation: UInt64? = nil) throws -> RoutingTable {
        var groups = self.groups
        for (name, config) in changes.sorted(by: { $0.key < $1.key }) {
            guard let index = groupIndex(named: name) else {
                throw ConfigError(key: "target_groups.\(name)", message: "unknown target group '\(name)'")
            }
            groups[index] = GroupRoute(config: config, timeouts: timeouts).replacingTargets(groups[index].targets)
        }
        return RoutingTable(generation: generation ?? self.generation + 1, listeners: listeners, groups: groups)
    }

    /// Whether `other` routes exactly as this table does (generations aside): same forwards, targets and
    /// group settings.
    public func routesLike(_ other: RoutingTable) -> Bool {
        listeners == other.listeners && groups == other.groups
    }
}
