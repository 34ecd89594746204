import Logging
import TurnoutCore

/// Active health checks of every target of every group, on the control thread: carries out what
/// `HealthCheckState` decides. One timer on the clock wakes it when the earliest probe is due; the
/// `HealthProber` runs the probes; every change of a target's state is logged once and reported
/// through `onChange`.
///
/// A group whose check is disabled is not probed: its targets stay `initial` with `Target.HealthCheckDisabled`,
/// which counts as routable from registration (the contract's rule, as ALB treats targets without checks).
/// Deregistered targets are simply forgotten here: draining is tracked by whoever deregistered them.
public final class HealthChecker {
    private var state: HealthCheckState
    private let clock: any ControlClock
    private let prober: any HealthProber
    private let logger: Logger
    private let onChange: (HealthChange) -> Void
    private let onProbe: (_ group: String, _ target: HostPort, _ seconds: Double) -> Void
    /// Set for the earliest probe due.
    private lazy var wake = DeadlineTimer(clock: clock) { [weak self] in self?.startDueProbes() }
    /// Probes that could not be sent for lack of descriptors, for a log line per interval rather than per probe.
    private var unsentProbes = IntervalReport(intervalNanoseconds: 10_000_000_000)

    /// - Parameters:
    ///   - random: the spread of the probes' schedule (a uniform pick in the range).
    ///   - onChange: called for every change of a target's state.
    ///   - onProbe: called after every probe with its duration, for the latency histogram.
    public init(
        clock: any ControlClock,
        prober: any HealthProber,
        random: @escaping (ClosedRange<UInt64>) -> UInt64 = { UInt64.random(in: $0) },
        logger: Logger = Logger(label: "turnout.health"),
        onChange: @escaping (HealthChange) -> Void = { _ in },
        onProbe: @escaping (_ group: String, _ target: HostPort, _ seconds: Double) -> Void = { _, _, _ in }
    ) {
        state = HealthCheckState(random: random)
        self.clock = clock
        self.prober = prober
        self.logger = logger
        self.onChange = onChange
        self.onProbe = onProbe
    }

    /// Probes over real sockets on `loop`.
    public convenience init(
        loop: ControlLoop,
        logger: Logger = Logger(label: "turnout.health"),
        onChange: @escaping (HealthChange) -> Void = { _ in },
        onProbe: @escaping (_ group: String, _ target: HostPort, _ seconds: Double) -> Void = { _, _, _ in }
    ) {
        self.init(clock: loop, prober: SocketHealthProber(loop: loop), logger: logger, onChange: onChange, onProbe: onProbe)
    }

    /// Takes the current groups and target lists (see `HealthCheckState.update`). Groups in
    /// `unusedGroups` (no weight on any listener) show their targets as `unused` while probes go on.
    public func update(groups routes: [GroupRoute], unusedGroups: Set<String> = []) {
        let update = state.update(groups: routes, unusedGroups: unusedGroups, now: clock.monotonicNanoseconds)
        for registration in update.cancelled { prober.cancel(registration) }
        wake.set(state.nextDeadline)
        for change in update.changes { report(change) }
    }

    /// Same as `update(groups:unusedGroups:)` with the groups of `table`; a group is unused when no listener
    /// gives it weight.
    public func update(table: RoutingTable) {
        update(groups: table.groups, unusedGroups: Set(table.groups.map(\.name)).subtracting(table.weightedGroups))
    }

    /// The health of `target` in `group`; nil when the target is not registered there.
    public func health(group: String, target: HostPort) -> TargetHealth? {
        state.health(group: group, target: target)
    }

    /// Every group's targets with their health and whether they get traffic, in the order of the last `update`.
    public func snapshot() -> [GroupHealthReport] { state.snapshot() }

    /// The data plane saw `passive_ejection.consecutive_failures` failed requests in a row to `target`: take it
    /// out of rotation until its next passing check. Ignored when the group's ejection is disabled (0).
    ///
    /// - Returns: whether the target's state changed.
    @discardableResult
    public func passiveEjection(group: String, target: HostPort) -> Bool {
        guard let change = state.passiveEjection(group: group, target: target) else { return false }
        report(change)
        return true
    }

    /// Stops every probe and timer and forgets all groups (before stopping the loop).
    /// Later probes of groups with `tls` read their CA files again.
    public func reloadTLS() {
        prober.reloadTLS()
    }

    public func shutdown() {
        for registration in state.removeAll() { prober.cancel(registration) }
        wake.set(state.nextDeadline)
    }

    private func startDueProbes() {
        for order in state.dueProbes(now: clock.monotonicNanoseconds) {
            let started = clock.monotonicNanoseconds
            prober.start(order) { [weak self] result in
                guard let self else { return }
                noteSending(result)
                if case .notSent = result {} else {
                    onProbe(order.group, order.target, Double(clock.monotonicNanoseconds &- started) / 1_000_000_000)
                }
                if let change = state.record(result, of: order) { report(change) }
            }
        }
        wake.set(state.nextDeadline)
    }

    /// A probe this process could not send (no descriptor) is logged once per interval with a count,
    /// and once when probes go out again; the target's state is left as it is.
    private func noteSending(_ result: ProbeResult) {
        let now = clock.monotonicNanoseconds
        if case .notSent(let reason) = result {
            if let count = unsentProbes.record(now: now) {
                logger.error("health probes not sent (\(reason)); targets keep their state", metadata: ["probes": .stringConvertible(count)])
            }
        } else if let unsent = unsentProbes.endIfQuiet(now: now) {
            logger.notice("health probes sent again", metadata: ["probes_not_sent_since_last_report": .stringConvertible(unsent)])
        }
    }

    /// Logs a state change once and hands it to `onChange`.
    private func report(_ change: HealthChange) {
        logger.log(level: change.health.state == .unhealthy ? .warning : .info, "\(change.description)")
        onChange(change)
    }
}

/// Runs health probes: `HealthChecker` orders them, `SocketHealthProber` makes real connections,
/// and the unit tests answer them by hand.
public protocol HealthProber: AnyObject {
    /// Makes later probes of groups with `tls` read their CA files again (after a reload).
    func reloadTLS()

    /// Starts `order`'s probe; `completion` gets its result once, on the control thread, unless
    /// the probe is cancelled first.
    func start(_ order: HealthProbeOrder, completion: @escaping (ProbeResult) -> Void)
    /// Stops the running probe of `registration` without a result (nothing happens when none runs).
    func cancel(_ registration: UInt64)
}

extension HealthProber {
    /// A prober that keeps no TLS contexts has nothing to read again.
    public func reloadTLS() {}
}
