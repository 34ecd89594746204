import TurnoutCore

/// What the control plane tells `GET /v1/events`: every acknowledged routing change, health transition,
/// target registration and drain, as it happens (see `EventStream`).
extension ControlPlane {
    /// `GET /v1/events`: Server-Sent Events, resumed after `Last-Event-ID` when the log still holds it.
    func getEvents(_ request: AdminRequest) throws(AdminFailure) -> AdminResponse {
        try request.allowOnlyQuery([])
        return try events.open(lastEventID: request.header("Last-Event-ID"), generation: table.generation)
    }

    /// Publishes an event of the generation in force (the deployment engine's phases come this way too).
    @discardableResult
    public func publishEvent(_ kind: EventKind, _ members: [String: JSONValue]) -> ControlEvent {
        events.publish(kind, generation: table.generation, members)
    }

    /// After `commit` made `entry`'s change (the table in force is the new one): its routing event, then
    /// a registration or drain event for every target that joined or left a group, or whose group lost
    /// all weight.
    func publishCommitEvents(previous: RoutingTable, entry: AuditEntry) {
        publishEvent(.routing, [
            "generation_before": .int(Int64(entry.generationBefore)), "generation_after": .int(Int64(entry.generationAfter)),
            "action": .string(entry.action), "caller": .string(entry.caller), "audit_id": .int(Int64(entry.id)),
            "diff": entry.diff, "report": Self.reportLink(of: entry),
        ])
        for group in table.groups {
            let before = previous.groupIndex(named: group.name).map { previous.groups[$0].targets } ?? []
            for target in group.targets where !before.contains(target) {
                publishEvent(.targetRegistered, ["group": .string(group.name), "target": .string(target.description)])
            }
            for target in before where !group.targets.contains(target) {
                let until = draining[group.name]?[target]
                publishEvent(.targetDrainStarted, drainMembers(group.name, target, cause: "deregistered", untilMs: until))
            }
        }
        let weighted = table.weightedGroups
        for name in previous.weightedGroups.subtracting(weighted).sorted() {
            guard let index = table.groupIndex(named: name), let until = groupDrainUntil[name] else { continue }
            for target in table.groups[index].targets {
                publishEvent(.targetDrainStarted, drainMembers(name, target, cause: "group_unweighted", untilMs: until))
            }
            let nowMs = clock.wallMilliseconds
            clock.schedule(after: until > nowMs ? (until - nowMs) * 1_000_000 : 0) { [weak self] in
                self?.publishGroupDrainEnd(name, untilMs: until)
            }
        }
    }

    /// A target's health changed.
    func publishHealthEvent(_ change: HealthChange) {
        publishEvent(.health, [
            "group": .string(change.group), "target": .string(change.target.description),
            "from": .string(change.previous.rawValue), "to": .string(change.health.state.rawValue),
            "reason": change.health.reason.map { .string($0.rawValue) } ?? .null,
            "description": .string(change.health.description),
        ])
    }

    /// A deregistered target's drain ended.
    func publishDrainEnd(group: String, target: HostPort) {
        publishEvent(.targetDrainEnded, drainMembers(group, target, cause: "deregistered", untilMs: nil))
    }

    /// The drain of a group that lost all weight ended, unless the group got weight back (or drains again
    /// with a later deadline) meanwhile.
    private func publishGroupDrainEnd(_ name: String, untilMs: UInt64) {
        guard groupDrainUntil[name] == untilMs, let index = table.groupIndex(named: name) else { return }
        for target in table.groups[index].targets {
            publishEvent(.targetDrainEnded, drainMembers(name, target, cause: "group_unweighted", untilMs: nil))
        }
    }

    private func drainMembers(_ group: String, _ target: HostPort, cause: String, untilMs: UInt64?) -> [String: JSONValue] {
        var members: [String: JSONValue] = ["group": .string(group), "target": .string(target.description),
                                            "cause": .string(cause)]
        if let untilMs { members["until"] = .string(AuditTimestamp.iso8601(milliseconds: untilMs)) }
        return members
    }
}
