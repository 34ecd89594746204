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
            listeners[index] = listeners[index].replacingForward(
                groupIndices: forward.map { groupIndex(named: $0.group)! },
                weights: forward.map(\.weight)
            )
        }
        return RoutingTable(generation: generation ?? self.generation + 1, listeners: listeners, groups: groups)
    }

    /// A new table in which the named rules' forward actions are replaced (listener name → rule name → its
    /// complete new forward list), all in one generation. Other rules and the listeners' own forwards are kept.
    ///
    /// - Throws: `ConfigError` (without a line) for an unknown listener (`listeners.<name>`), an unknown rule or
    ///   one that answers by itself (`listeners.<name>.rules.<rule>`), and what `WeightedGroup.validate` refuses
    ///   (`listeners.<name>.rules.<rule>.forward`). Nothing changes when it throws.
    public func replacingRuleForwards(_ changes: [String: [String: [WeightedGroup]]],
                                      generation: UInt64? = nil) throws -> RoutingTable {
        var listeners = self.listeners
        for (name, rules) in changes.sorted(by: { $0.key < $1.key }) {
            guard let index = listenerIndex(named: name) else {
                throw ConfigError(key: "listeners.\(name)", message: "unknown listener '\(name)'")
            }
            for (rule, forward) in rules.sorted(by: { $0.key < $1.key }) {
                let key = "listeners.\(name).rules.\(rule)"
                guard let ruleIndex = listeners[index].ruleIndex(named: rule) else {
                    throw ConfigError(key: key, message: "listener '\(name)' has no rule '\(rule)'")
                }
                guard case .forward = listeners[index].rules[ruleIndex].action else {
                    throw ConfigError(key: key, message: "rule '\(rule)' answers by itself: it has no forward to change")
                }
                try WeightedGroup.validate(forward, key: "\(key).forward") { groupIndex(named: $0) != nil }
                listeners[index] = listeners[index].replacingForward(
                    ofRule: ruleIndex, groupIndices: forward.map { groupIndex(named: $0.group)! }, weights: forward.map(\.weight))
            }
        }
        return RoutingTable(generation: generation ?? self.generation + 1, listeners: listeners, groups: groups)
    }

    /// A new table in which the named groups' registered targets are replaced (group name → all its targets,
    /// addresses and names), all in one generation. A name the group keeps keeps the addresses it resolved to;
    /// a new name has none until it resolves (`replacingAddresses`), unless `resolved` gives them (restoring
    /// saved state).
    ///
    /// - Throws: `ConfigError` for an unknown group (`target_groups.<name>`), a target with port 0 or a duplicate
    ///   target (`target_groups.<name>.targets[<i>]`).
    public func replacingTargets(_ changes: [String: [HostPort]], resolved: [String: [HostPort: [HostPort]]] = [:],
                                 generation: UInt64? = nil) throws -> RoutingTable {
        var groups = self.groups
        for (name, targets) in changes.sorted(by: { $0.key < $1.key }) {
            guard let index = groupIndex(named: name) else {
                throw ConfigError(key: "target_groups.\(name)", message: "unknown target group '\(name)'")
            }
            try TargetGroupConfig.validateTargets(targets, group: name)
            groups[index] = groups[index].replacingTargets(targets, resolved: resolved[name])
        }
        return RoutingTable(generation: generation ?? self.generation + 1, listeners: listeners, groups: groups)
    }

    /// A new table in which the registered name `name` of `group` stands for `addresses` (IP addresses; their
    /// order does not matter), in one generation: what a lookup that found other addresses changes.
    ///
    /// - Throws: `ConfigError` for an unknown group (`target_groups.<group>`), a name the group does not have
    ///   registered or an address that is not an IP address (`target_groups.<group>.targets`).
    public func replacingAddresses(_ addresses: [HostPort], of name: HostPort, in group: String,
                                   generation: UInt64? = nil) throws -> RoutingTable {
        guard let index = groupIndex(named: group) else {
            throw ConfigError(key: "target_groups.\(group)", message: "unknown target group '\(group)'")
        }
        let route = groups[index]
        guard !name.isAddress, route.registered.contains(name) else {
            throw ConfigError(key: "target_groups.\(group).targets", message: "no name \(name) registered in '\(group)'")
        }
        if let bad = addresses.first(where: { !$0.isAddress }) {
            throw ConfigError(key: "target_groups.\(group).targets", message: "\(bad) is not an IP address")
        }
        var resolved = route.resolved
        resolved[name] = Array(Set(addresses))
        var groups = self.groups
        groups[index] = route.replacingTargets(route.registered, resolved: resolved)
        return RoutingTable(generation: generation ?? self.generation + 1, listeners: listeners, groups: groups)
    }

    /// The addresses each group routes to here and no longer in `next`, in this table's order (group name →
    /// addresses; groups losing none are left out): the targets a change drains.
    public func targetsLeaving(to next: RoutingTable) -> [String: [HostPort]] {
        var leaving: [String: [HostPort]] = [:]
        for group in groups {
            guard let index = next.groupIndex(named: group.name) else { continue }
            let kept = Set(next.groups[index].targets)
            let gone = group.targets.filter { !kept.contains($0) }
            if !gone.isEmpty { leaving[group.name] = gone }
        }
        return leaving
    }

    /// A new table in which the named groups take the settings of their new configuration (algorithm, health
    /// check, deregistration delay, all-unhealthy policy, passive ejection, timeouts, DNS refresh), keeping the
    /// targets they have and the addresses their names resolved to. `timeouts` is the top-level section, for what a group leaves unset.
    ///
    /// - Throws: `ConfigError` for an unknown group (`target_groups.<name>`).
    public func replacingGroupSettings(_ changes: [String: TargetGroupConfig], timeouts: Timeouts,
                                       generation: UInt64? = nil) throws -> RoutingTable {
        var groups = self.groups
        for (name, config) in changes.sorted(by: { $0.key < $1.key }) {
            guard let index = groupIndex(named: name) else {
                throw ConfigError(key: "target_groups.\(name)", message: "unknown target group '\(name)'")
            }
            let route = groups[index]
            groups[index] = GroupRoute(config: config, timeouts: timeouts).replacingTargets(route.registered, resolved: route.resolved)
        }
        return RoutingTable(generation: generation ?? self.generation + 1, listeners: listeners, groups: groups)
    }

    /// Whether `other` routes exactly as this table does (generations aside): same forwards, registered targets,
    /// addresses of names and group settings.
    public func routesLike(_ other: RoutingTable) -> Bool {
        listeners == other.listeners && groups == other.groups
    }
}
