import TurnoutCore

extension HealthChecker {
    /// Takes the current groups and target lists: new targets start probing, removed ones (and removed groups)
    /// stop and are forgotten, kept ones keep their health. A group whose check is switched on or off starts its
    /// targets over (`initial`); a group whose check changed otherwise (path, interval, thresholds...) keeps its
    /// targets' health and reschedules their next probe within the new interval. Groups in `unusedGroups` (no
    /// weight on any listener) show their targets as `unused` while probes go on.
    public func update(groups routes: [GroupRoute], unusedGroups: Set<String> = []) {
        let names = Set(routes.map(\.name))
        for (name, group) in groups where !names.contains(name) {
            for entry in group.targets { entry.stop(loop) }
            groups[name] = nil
        }
        for route in routes {
            let inUse = !unusedGroups.contains(route.name)
            if let group = groups[route.name] {
                reconcile(group, with: route, inUse: inUse)
            } else {
                let group = CheckedGroup(route: route, inUse: inUse, targets: [])
                groups[route.name] = group
                group.targets = route.targets.map { register($0, in: group) }
            }
        }
        groupOrder = routes.map(\.name)
    }

    /// Same as `update(groups:unusedGroups:)` with the groups of `table`; a group is unused when no listener
    /// gives it weight.
    public func update(table: RoutingTable) {
        var weighted = Set<String>()
        for listener in table.listeners {
            for (index, weight) in zip(listener.groupIndices, listener.weights) where weight > 0 {
                weighted.insert(table.groups[index].name)
            }
        }
        update(groups: table.groups, unusedGroups: Set(table.groups.map(\.name)).subtracting(weighted))
    }

    private func reconcile(_ group: CheckedGroup, with route: GroupRoute, inUse: Bool) {
        let restart = group.route.healthCheck.enabled != route.healthCheck.enabled
        let reschedule = !restart && group.route.healthCheck != route.healthCheck
        group.route = route
        group.inUse = inUse
        var kept: [HostPort: CheckedTarget] = [:]
        for entry in group.targets {
            if route.targets.contains(entry.target) {
                kept[entry.target] = entry
            } else {
                entry.stop(loop)
            }
        }
        var changed: [(entry: CheckedTarget, previous: TargetHealthState)] = []
        group.targets = route.targets.map { target in
            guard let entry = kept[target] else { return register(target, in: group) }
            let previous = entry.health.state
            if restart {
                entry.stop(loop)
                entry.health = TargetHealth(checkEnabled: route.healthCheck.enabled)
                startProbing(entry, in: group)
            } else if reschedule {
                // A probe in flight finishes with the settings it started with.
                if let next = entry.nextProbe { loop.cancel(next) }
                entry.nextProbe = nil
                startProbing(entry, in: group)
            }
            entry.health.setInUse(inUse)
            if entry.health.state != previous { changed.append((entry, previous)) }
            return entry
        }
        // Reported once the group is complete, so that `onChange` sees the new target list.
        for (entry, previous) in changed { report(group: route.name, entry: entry, previous: previous) }
    }

    /// A newly registered target, probing from now on when the group checks.
    private func register(_ target: HostPort, in group: CheckedGroup) -> CheckedTarget {
        var health = TargetHealth(checkEnabled: group.route.healthCheck.enabled)
        health.setInUse(group.inUse)
        let entry = CheckedTarget(target: target, health: health)
        startProbing(entry, in: group)
        return entry
    }
}
