import Logging
import TurnoutCore
import TurnoutPosix

/// Active health checks of every target of every group, on the control loop (control thread only).
///
/// Each (group, target) pair is probed on its own schedule: the first probe after a random delay within one
/// interval, then every interval ±10%, so that probes of many targets do not line up. A target in two groups is
/// probed once per group, with each group's settings. Results feed one `TargetHealth` per pair; every change of
/// state is logged once and reported through `onChange`.
///
/// A group whose check is disabled is not probed: its targets stay `initial` with `Target.HealthCheckDisabled`,
/// which counts as routable from registration (the contract's rule, as ALB treats targets without checks).
/// Deregistered targets are simply forgotten here: draining is tracked by whoever deregistered them.
public final class HealthChecker {
    let loop: ControlLoop
    let logger: Logger
    let onChange: (HealthChange) -> Void
    let onProbe: (_ group: String, _ target: HostPort, _ seconds: Double) -> Void

    /// Groups by name, and their order in the last `update`.
    var groups: [String: CheckedGroup] = [:]
    var groupOrder: [String] = []
    /// Resolved probe addresses (host and probe port); dropped after a failed connection to resolve again.
    var addresses: [HostPort: SocketAddress] = [:]
    /// Probes that could not be sent for lack of descriptors, for a log line per interval rather than per probe.
    var unsentProbes = IntervalReport(intervalNanoseconds: 10_000_000_000)

    /// - Parameters:
    ///   - onChange: called on the loop for every change of a target's state.
    ///   - onProbe: called on the loop after every probe with its duration, for the latency histogram.
    public init(
        loop: ControlLoop,
        logger: Logger = Logger(label: "turnout.health"),
        onChange: @escaping (HealthChange) -> Void = { _ in },
        onProbe: @escaping (_ group: String, _ target: HostPort, _ seconds: Double) -> Void = { _, _, _ in }
    ) {
        self.loop = loop
        self.logger = logger
        self.onChange = onChange
        self.onProbe = onProbe
    }

    /// The health of `target` in `group`; nil when the target is not registered there.
    public func health(group: String, target: HostPort) -> TargetHealth? {
        groups[group]?.target(target)?.health
    }

    /// Every group's targets with their health and whether they get traffic, in the order of the last `update`.
    public func snapshot() -> [GroupHealthReport] {
        groupOrder.compactMap { name in
            guard let group = groups[name] else { return nil }
            let routable = routableTargets(group.targets.map(\.health), policy: group.route.onAllUnhealthy)
            return GroupHealthReport(
                group: name,
                targets: zip(group.targets, routable).map { TargetHealthReport(target: $0.target, health: $0.health, routable: $1) }
            )
        }
    }

    /// The data plane saw `passive_ejection.consecutive_failures` failed requests in a row to `target`: take it
    /// out of rotation until its next passing check. Ignored when the group's ejection is disabled (0).
    ///
    /// - Returns: whether the target's state changed.
    @discardableResult
    public func passiveEjection(group: String, target: HostPort) -> Bool {
        guard let checked = groups[group], checked.route.passiveEjection.isEnabled,
              let entry = checked.target(target)
        else { return false }
        let previous = entry.health.state
        guard entry.health.eject() else { return false }
        report(group: group, entry: entry, previous: previous)
        return true
    }

    /// Stops every probe and timer and forgets all groups (before stopping the loop).
    public func shutdown() {
        for group in groups.values {
            for entry in group.targets { entry.stop(loop) }
        }
        groups = [:]
        groupOrder = []
    }

    /// Logs a state change once and hands it to `onChange`.
    func report(group: String, entry: CheckedTarget, previous: TargetHealthState) {
        let change = HealthChange(group: group, target: entry.target, previous: previous, health: entry.health)
        logger.log(level: change.health.state == .unhealthy ? .warning : .info, "\(change.description)")
        onChange(change)
    }
}

/// One group as the checker tracks it.
final class CheckedGroup {
    var route: GroupRoute
    var inUse: Bool
    /// In the route's target order.
    var targets: [CheckedTarget]

    init(route: GroupRoute, inUse: Bool, targets: [CheckedTarget]) {
        self.route = route
        self.inUse = inUse
        self.targets = targets
    }

    func target(_ target: HostPort) -> CheckedTarget? {
        targets.first { $0.target == target }
    }
}

/// One target of one group: its health, its next scheduled probe and the probe in flight.
final class CheckedTarget {
    let target: HostPort
    var health: TargetHealth
    var nextProbe: TimerID?
    var probe: HealthProbe?

    init(target: HostPort, health: TargetHealth) {
        self.target = target
        self.health = health
    }

    /// Cancels the scheduled and the running probe.
    func stop(_ loop: ControlLoop) {
        if let nextProbe { loop.cancel(nextProbe) }
        nextProbe = nil
        probe?.cancel()
        probe = nil
    }
}
