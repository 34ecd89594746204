import TurnoutCore

/// The health checker's decisions, with no loop, socket or clock of its own: which targets are
/// checked, each one's `TargetHealth` and when its next probe is due, what a probe's result does,
/// and what a new list of groups keeps, starts over or forgets. Time comes in as `now` (monotonic
/// nanoseconds) and the spread of the probes from `random`, so the tests drive it step by step.
/// `HealthChecker` carries out what it decides on the control loop.
///
/// Each (group, target) pair is probed on its own schedule: the first probe after a random delay
/// within one interval, then every interval ±10%, so that probes of many targets do not line up.
/// A probe still running when the next one is due makes that one skip its turn. A target in two
/// groups is probed once per group, with each group's settings.
struct HealthCheckState {
    /// A number in the range, uniformly: the spread of the probes' schedule.
    typealias Random = (ClosedRange<UInt64>) -> UInt64

    /// One registered target of one group.
    struct Entry {
        let target: HostPort
        /// The registered target `target` comes from: a name it resolved to, or `target` itself.
        var registered: HostPort
        /// Names the registration, and so the probes made for it: a target registered again, or
        /// started over, gets a new one, and a result for an older one is ignored.
        var registration: UInt64
        var health: TargetHealth
        /// When the next probe is due (monotonic ns); nil when the group does not check.
        var nextProbe: UInt64?
        /// Whether a probe for `registration` is running.
        var probing = false
    }

    /// One group as the checker tracks it.
    struct Group {
        var route: GroupRoute
        var inUse: Bool
        /// In the route's target order.
        var entries: [Entry]

        func index(of target: HostPort) -> Int? { entries.firstIndex { $0.target == target } }

        /// The name `entries[index]`'s address came from; nil for a registered address.
        func name(at index: Int) -> HostPort? {
            let registered = entries[index].registered
            return registered.isAddress ? nil : registered
        }
    }

    /// What an update of the groups did: the state changes to report, and the running probes to
    /// cancel (their targets were removed or started over).
    struct Update: Equatable {
        var changes: [HealthChange] = []
        var cancelled: [UInt64] = []
    }

    private let random: Random
    private(set) var groups: [String: Group] = [:]
    /// Group names in the order of the last update.
    private(set) var order: [String] = []
    private var lastRegistration: UInt64 = 0

    init(random: @escaping Random = { UInt64.random(in: $0) }) {
        self.random = random
    }

    // MARK: - Groups

    /// Takes the current groups and target lists: new targets start probing, removed ones (and
    /// removed groups) stop and are forgotten, kept ones keep their health. A group whose check is
    /// switched on or off starts its targets over (`initial`); a group whose check changed
    /// otherwise (path, interval, thresholds...) keeps its targets' health and reschedules their
    /// next probe within the new interval (a probe running finishes with the settings it started
    /// with). Groups in `unusedGroups` (no weight on any listener) show their targets as `unused`
    /// while probes go on. Changes are reported once every group is updated.
    mutating func update(groups routes: [GroupRoute], unusedGroups: Set<String> = [], now: UInt64) -> Update {
        var update = Update()
        let names = Set(routes.map(\.name))
        for (name, group) in groups where !names.contains(name) {
            update.cancelled += group.entries.filter(\.probing).map(\.registration)
            groups[name] = nil
        }
        for route in routes {
            let inUse = !unusedGroups.contains(route.name)
            if let group = groups[route.name] {
                groups[route.name] = reconcile(group, with: route, inUse: inUse, now: now, into: &update)
            } else {
                var group = Group(route: route, inUse: inUse, entries: [])
                group.entries = zip(route.targets, route.origins).map { register($0, from: $1, in: group, now: now) }
                groups[route.name] = group
            }
        }
        order = routes.map(\.name)
        return update
    }

    private mutating func reconcile(_ group: Group, with route: GroupRoute, inUse: Bool, now: UInt64,
                                    into update: inout Update) -> Group {
        let restart = group.route.healthCheck.enabled != route.healthCheck.enabled
        let reschedule = !restart && group.route.healthCheck != route.healthCheck
        var next = Group(route: route, inUse: inUse, entries: [])
        var kept: [HostPort: Entry] = [:]
        for entry in group.entries {
            if route.targets.contains(entry.target) {
                kept[entry.target] = entry
            } else if entry.probing {
                update.cancelled.append(entry.registration)
            }
        }
        for (target, origin) in zip(route.targets, route.origins) {
            guard var entry = kept[target] else {
                next.entries.append(register(target, from: origin, in: next, now: now))
                continue
            }
            let previous = entry.health.state
            if restart {
                if entry.probing { update.cancelled.append(entry.registration) }
                entry = register(target, from: origin, in: next, now: now)
            } else if reschedule {
                entry.nextProbe = firstProbe(route.healthCheck, now: now)
            }
            entry.registered = origin
            entry.health.setInUse(inUse)
            next.entries.append(entry)
            if entry.health.state != previous {
                update.changes.append(HealthChange(group: route.name, target: target, previous: previous, health: entry.health,
                                                   name: next.name(at: next.entries.count - 1)))
            }
        }
        return next
    }

    /// A newly registered target (or one started over), its first probe scheduled when the group checks.
    private mutating func register(_ target: HostPort, from registered: HostPort, in group: Group, now: UInt64) -> Entry {
        var health = TargetHealth(checkEnabled: group.route.healthCheck.enabled)
        health.setInUse(group.inUse)
        lastRegistration += 1
        return Entry(target: target, registered: registered, registration: lastRegistration, health: health,
                     nextProbe: firstProbe(group.route.healthCheck, now: now))
    }

    /// Forgets every group; returns the running probes to cancel.
    mutating func removeAll() -> [UInt64] {
        let running = groups.values.flatMap { $0.entries.filter(\.probing).map(\.registration) }
        groups = [:]
        order = []
        return running
    }

    // MARK: - Probes

    /// A random moment within one interval from `now`; nil when the check is off.
    private func firstProbe(_ check: HealthCheckConfig, now: UInt64) -> UInt64? {
        guard check.enabled else { return nil }
        return now + random(0...(max(check.interval.nanoseconds, 1) - 1))
    }

    /// When the earliest probe is due; nil when nothing is checked.
    var nextDeadline: UInt64? {
        groups.values.lazy.flatMap { $0.entries.lazy.compactMap(\.nextProbe) }.min()
    }

    /// The probes to start at `now`, in group and target order: each due entry gets its next
    /// probe an interval ±10% later, and starts one now unless its last one is still running (a
    /// timeout close to the interval can let a probe outlive the next turn; that turn is skipped).
    mutating func dueProbes(now: UInt64) -> [HealthProbeOrder] {
        var orders: [HealthProbeOrder] = []
        for name in order {
            guard var group = groups[name] else { continue }
            let check = group.route.healthCheck
            let interval = check.interval.nanoseconds
            let jitter = interval / 10
            for index in group.entries.indices {
                guard let due = group.entries[index].nextProbe, due <= now else { continue }
                group.entries[index].nextProbe = now + interval - jitter + random(0...(2 * jitter))
                guard !group.entries[index].probing else { continue }
                group.entries[index].probing = true
                orders.append(HealthProbeOrder(registration: group.entries[index].registration, group: name,
                                               target: group.entries[index].target,
                                               registered: group.entries[index].registered, check: check,
                                               tls: group.route.tls))
            }
            groups[name] = group
        }
        return orders
    }

    /// Counts the result of `probe` with its group's current thresholds. A result for a target
    /// no longer registered (or started over since) changes nothing.
    ///
    /// - Returns: the change of state, if any.
    mutating func record(_ result: ProbeResult, of probe: HealthProbeOrder) -> HealthChange? {
        guard var group = groups[probe.group],
              let index = group.entries.firstIndex(where: { $0.registration == probe.registration })
        else { return nil }
        let check = group.route.healthCheck
        let previous = group.entries[index].health.state
        group.entries[index].probing = false
        let changed = group.entries[index].health.record(
            result, healthyThreshold: check.healthyThreshold, unhealthyThreshold: check.unhealthyThreshold)
        groups[probe.group] = group
        guard changed else { return nil }
        return HealthChange(group: probe.group, target: probe.target, previous: previous, health: group.entries[index].health,
                            name: group.name(at: index))
    }

    /// The data plane saw `passive_ejection.consecutive_failures` failed requests in a row to
    /// `target`: out of rotation until its next passing check. Nothing happens when the group's
    /// ejection is disabled (0) or the target is unknown.
    mutating func passiveEjection(group name: String, target: HostPort) -> HealthChange? {
        guard var group = groups[name], group.route.passiveEjection.isEnabled, let index = group.index(of: target) else {
            return nil
        }
        let previous = group.entries[index].health.state
        guard group.entries[index].health.eject() else { return nil }
        groups[name] = group
        return HealthChange(group: name, target: target, previous: previous, health: group.entries[index].health,
                            name: group.name(at: index))
    }

    // MARK: - Reading

    /// The health of `target` in `group`; nil when the target is not registered there.
    func health(group: String, target: HostPort) -> TargetHealth? {
        guard let group = groups[group], let index = group.index(of: target) else { return nil }
        return group.entries[index].health
    }

    /// Every group's targets with their health and whether they get traffic, in the order of the last update.
    func snapshot() -> [GroupHealthReport] {
        order.compactMap { name in
            guard let group = groups[name] else { return nil }
            let routable = routableTargets(group.entries.map(\.health), policy: group.route.onAllUnhealthy)
            return GroupHealthReport(
                group: name,
                targets: zip(group.entries, routable).map { TargetHealthReport(target: $0.target, health: $0.health, routable: $1) })
        }
    }
}

/// One probe to run: which registration it is for (its result is recorded against that), the
/// group whose settings it uses, and the target.
public struct HealthProbeOrder: Equatable, Sendable {
    public let registration: UInt64
    public let group: String
    /// The target: an address.
    public let target: HostPort
    /// The registered target `target` comes from: the name it resolved to, or `target` itself.
    public let registered: HostPort
    public let check: HealthCheckConfig
    /// The group's `tls`: the probe goes over TLS, checked as the group's requests are.
    public var tls: UpstreamTLSConfig? = nil

    /// What is probed: the target's address, on the check's port when it names one.
    public var address: HostPort { HostPort(host: target.host, port: check.port ?? target.port) }

    /// The probe's `Host` header: the check's, else the target as registered (its name, for an address a name
    /// resolved to) on the port probed.
    public var hostHeader: String { check.host ?? HostPort(host: registered.host, port: address.port).description }
}

/// A target's health changed state (reported once per transition, never per check).
public struct HealthChange: Sendable, Equatable, CustomStringConvertible {
    public let group: String
    public let target: HostPort
    /// The state before the change.
    public let previous: TargetHealthState
    /// The health after the change.
    public let health: TargetHealth
    /// The name the target's address came from; nil for a target registered as an address.
    public let name: HostPort?

    public init(group: String, target: HostPort, previous: TargetHealthState, health: TargetHealth, name: HostPort? = nil) {
        self.group = group
        self.target = target
        self.previous = previous
        self.health = health
        self.name = name
    }

    /// The log line: `target 127.0.0.1:3000 in blue: healthy → unhealthy (Target.Timeout)`, the name after the
    /// address for an address a name resolved to (`target 172.18.0.5:3000 (app-green:3000) in green: ...`).
    /// Reasons whose description carries a detail (the refused connection, the status code) add it after a colon.
    public var description: String {
        let shown = name.map { "\(target) (\($0))" } ?? target.description
        var line = "target \(shown) in \(group): \(previous.rawValue) → \(health.state.rawValue)"
        if let reason = health.reason {
            switch reason {
            case .failedHealthChecks, .responseCodeMismatch: line += " (\(reason.rawValue): \(health.description))"
            default: line += " (\(reason.rawValue))"
            }
        }
        return line
    }
}

/// The health of one target as the status endpoint shows it.
public struct TargetHealthReport: Sendable, Equatable {
    public let target: HostPort
    public let health: TargetHealth
    /// Whether the target gets traffic now, after the group's `on_all_unhealthy` policy.
    public let routable: Bool

    public init(target: HostPort, health: TargetHealth, routable: Bool) {
        self.target = target
        self.health = health
        self.routable = routable
    }
}

/// The health of a group's targets, in registration order.
public struct GroupHealthReport: Sendable, Equatable {
    public let group: String
    public let targets: [TargetHealthReport]

    public init(group: String, targets: [TargetHealthReport]) {
        self.group = group
        self.targets = targets
    }
}
