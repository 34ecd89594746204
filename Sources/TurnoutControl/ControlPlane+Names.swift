import TurnoutCore

/// Targets registered by name: what each lookup's answer does. A name that resolves to other addresses than
/// the ones in force is a routing change like a registration, committed with the caller `dns` (journal,
/// generation, audit): the addresses that left drain for the deregistration delay, the new ones are
/// health-checked as newly registered targets are. A lookup that fails changes no route: the name keeps
/// its last addresses. Each change of a name's phase (resolved, failed) is logged once.
extension ControlPlane {
    /// The caller of the changes lookups make, in the audit log.
    static let lookupCaller = "dns"
    /// The audit action of a lookup's new addresses.
    static let lookupAction = "targets.resolve"

    /// Runs `action` once every registered name has had its first answer (found or failed), or once
    /// `nanoseconds` have passed: `serve` starts the workers then.
    public func whenEveryNameAnswered(within nanoseconds: UInt64, _ action: @escaping () -> Void) {
        names.whenEveryNameAnswered(within: nanoseconds, action)
    }

    func nameAnswered(_ answered: NameAnswered) {
        logPhaseChange(answered)
        guard case .addresses = answered.answer,
              let index = table.groupIndex(named: answered.group),
              table.groups[index].registered.contains(answered.name) else { return }
        let route = table.groups[index]
        let addresses = answered.resolution.addresses
        guard route.resolved[answered.name] != addresses else { return }
        let next: RoutingTable
        do {
            next = try table.replacingAddresses(addresses, of: answered.name, in: answered.group)
        } catch {
            return logger.error("lookup of \(answered.name) in \(answered.group) not applied: \(error)")
        }
        let after = next.groups[index]
        let request: JSONValue = [
            "group": .string(answered.group), "name": .string(answered.name.description),
            "addresses": .array(addresses.map { .string($0.description) }),
        ]
        let diff: JSONValue = ["target_groups": [answered.group: [
            "before": .array(route.targets.map { .string($0.description) }),
            "after": .array(after.targets.map { .string($0.description) }),
        ]]]
        do {
            try commitDraining(next, action: Self.lookupAction, caller: Self.lookupCaller, request: request, diff: diff)
        } catch {
            // Nothing changed; the next lookup tries again. `commit` logged why.
        }
    }

    /// One line per change of a name's phase, never one per lookup.
    private func logPhaseChange(_ answered: NameAnswered) {
        guard let previous = answered.previousPhase else { return }
        let name = "name \(answered.name) in \(answered.group)"
        let resolution = answered.resolution
        let addresses = resolution.addresses.map(\.description).joined(separator: ", ")
        switch resolution.phase {
        case .resolved where previous == .failed:
            logger.notice("\(name) resolves again: \(addresses)")
        case .resolved:
            logger.info("\(name) resolved: \(addresses)")
        case .failed:
            let kept = table.groupIndex(named: answered.group).flatMap { table.groups[$0].resolved[answered.name] } ?? []
            let keeping = kept.isEmpty ? "it has no address yet and gets no traffic"
                : "keeping its last addresses (\(kept.map(\.description).joined(separator: ", ")))"
            logger.warning("\(name): lookup failed (\(resolution.error ?? "?")); \(keeping)")
        case .resolving:
            break
        }
    }

    /// A group's registered names with their addresses in force, the time of the last lookup that found them,
    /// and the error of the latest one while it fails.
    func namesJSON(_ group: GroupRoute) -> [JSONValue] {
        group.names.map { name in
            let resolution = names.resolution(group: group.name, name: name) ?? NameResolution()
            return [
                "name": .string(name.description),
                "state": .string(resolution.phase.rawValue),
                "addresses": .array((group.resolved[name] ?? []).map { .string($0.description) }),
                "resolved_at": resolution.resolvedAt.map { .string(AuditTimestamp.iso8601(milliseconds: $0)) } ?? .null,
                "error": resolution.error.map(JSONValue.string) ?? .null,
            ]
        }
    }
}
