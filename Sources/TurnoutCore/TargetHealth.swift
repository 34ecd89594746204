/// The health of one target in one group, with ALB's semantics: a state, a reason code and a description.
///
/// Pure: probe results, ejections, deregistration and time come in as arguments; the control thread's health
/// checker owns one value per (group, target).
///
/// Three things are tracked apart and combined into the reported `state`, in this order of precedence:
/// deregistration (`draining`), use (`unused` when the group has no weight on any listener), and what the
/// checks say (`initial` → `healthy` / `unhealthy` by thresholds, or `unhealthy` for a passive ejection).
/// Routing looks through `unused` at what the checks say (`isRoutable`), so weight shifted back to a group
/// meets targets whose health is already known.
public struct TargetHealth: Sendable, Equatable {
    public private(set) var state: TargetHealthState
    /// Nil exactly when `state` is `healthy`.
    public private(set) var reason: TargetHealthReason?
    /// Human-readable detail of `reason` ("Request timed out", "connection refused", ...); empty when healthy.
    public private(set) var description: String

    /// Whether the group runs active checks. Without them the target stays `initial`
    /// (`Target.HealthCheckDisabled`) and is routable from registration.
    public let checkEnabled: Bool
    /// Monotonic deadline (ns) of the deregistration delay; set once draining.
    public private(set) var drainingDeadline: UInt64?
    /// False while the group has no weight on any listener.
    public private(set) var inUse = true
    /// Set by a passive ejection until the next passing check.
    public private(set) var isEjected = false

    /// What the active checks alone say: `initial`, `healthy` or `unhealthy`.
    private var checked: TargetHealthState
    private var checkedReason: TargetHealthReason?
    private var checkedDescription: String
    private var consecutivePasses = 0
    private var consecutiveFailures = 0

    /// A newly registered target.
    public init(checkEnabled: Bool) {
        self.checkEnabled = checkEnabled
        checked = .initial
        if checkEnabled {
            checkedReason = .registrationInProgress
            checkedDescription = "Target registration is in progress"
        } else {
            checkedReason = .healthCheckDisabled
            checkedDescription = "Health checks are disabled"
        }
        state = .initial
        reason = checkedReason
        description = checkedDescription
    }

    public var isDraining: Bool { drainingDeadline != nil }

    /// What this instance's own checks (and a passive ejection) say, whatever the group's use and a
    /// deregistration: the view a fleet's instances compare, since use and deregistration follow the routing
    /// they share.
    public var checkedState: TargetHealthState { isEjected ? .unhealthy : checked }

    /// Whether the target may get traffic while some target of its group is routable: healthy by the checks,
    /// or `initial` in a group without checks; never while ejected or draining. `unused` does not matter here.
    public var isRoutable: Bool {
        guard !isDraining, !isEjected else { return false }
        return checked == .healthy || (checked == .initial && !checkEnabled)
    }

    /// Counts one active check. `healthyThreshold` consecutive passes make an `initial` or `unhealthy` target
    /// healthy; `unhealthyThreshold` consecutive failures make an `initial` or `healthy` one unhealthy. A pass
    /// also ends a passive ejection. An `unhealthy` target takes the reason of the latest failure. Ignored while
    /// draining, when the group has no checks, and for a probe that was not sent (neither run is touched).
    ///
    /// - Returns: whether `state` changed.
    @discardableResult
    public mutating func record(_ result: ProbeResult, healthyThreshold: Int, unhealthyThreshold: Int) -> Bool {
        guard checkEnabled, !isDraining else { return false }
        if case .notSent = result { return false }
        let before = state
        if let failure = result.failure {
            consecutiveFailures += 1
            consecutivePasses = 0
            if checked == .unhealthy || consecutiveFailures >= unhealthyThreshold {
                // Confirmed by the checks: the probe's reason says more than the ejection, and recovery now
                // takes the full healthy threshold.
                isEjected = false
                setChecked(.unhealthy, failure.reason, failure.description)
            } else if checked == .initial {
                setChecked(.initial, .initialHealthChecking, "Initial health checks in progress")
            }
        } else {
            consecutivePasses += 1
            consecutiveFailures = 0
            isEjected = false
            if checked != .healthy && consecutivePasses >= healthyThreshold {
                setChecked(.healthy, nil, "")
            } else if checked == .initial {
                setChecked(.initial, .initialHealthChecking, "Initial health checks in progress")
            }
        }
        refresh()
        return state != before
    }

    /// Takes the target out of rotation at once (`unhealthy`, `Target.PassiveEjection`) after the proxy saw too
    /// many consecutive failures; the next passing check puts it back. Ignored for a target that is already
    /// unhealthy, draining, or in a group without checks (nothing would ever bring it back).
    ///
    /// - Returns: whether `state` changed.
    @discardableResult
    public mutating func eject() -> Bool {
        guard checkEnabled, !isDraining, !isEjected, checked != .unhealthy else { return false }
        let before = state
        isEjected = true
        refresh()
        return state != before
    }

    /// Deregisters the target: `draining` until `deadline` (monotonic ns), for good. A second call keeps the
    /// first deadline.
    ///
    /// - Returns: whether `state` changed.
    @discardableResult
    public mutating func startDraining(until deadline: UInt64) -> Bool {
        guard !isDraining else { return false }
        let before = state
        drainingDeadline = deadline
        refresh()
        return state != before
    }

    /// True once draining and `now` (monotonic ns) has reached the deadline: the target can be forgotten.
    public func isDrained(now: UInt64) -> Bool {
        guard let drainingDeadline else { return false }
        return now >= drainingDeadline
    }

    /// Marks whether the group has weight on some listener (`unused` when not).
    ///
    /// - Returns: whether `state` changed.
    @discardableResult
    public mutating func setInUse(_ inUse: Bool) -> Bool {
        let before = state
        self.inUse = inUse
        refresh()
        return state != before
    }

    private mutating func setChecked(_ state: TargetHealthState, _ reason: TargetHealthReason?, _ description: String) {
        checked = state
        checkedReason = reason
        checkedDescription = description
    }

    /// Recomputes the reported state from its parts.
    private mutating func refresh() {
        if isDraining {
            (state, reason, description) = (.draining, .deregistrationInProgress, "Target deregistration is in progress")
        } else if !inUse {
            (state, reason, description) = (.unused, .notInUse, "Target group is not used by any listener")
        } else if isEjected {
            (state, reason, description) = (
                .unhealthy, .passiveEjection, "Consecutive requests failed; out of rotation until the next passing health check"
            )
        } else {
            (state, reason, description) = (checked, checkedReason, checkedDescription)
        }
    }
}

/// Which targets of a group get traffic, parallel to `health`: the routable ones (healthy, or `initial` when
/// the group has no checks). When none is routable, `failOpen` routes to every target that is not draining and
/// `failClosed` to none (requests get 503).
public func routableTargets(_ health: [TargetHealth], policy: AllUnhealthyPolicy) -> [Bool] {
    let routable = health.map(\.isRoutable)
    if routable.contains(true) { return routable }
    switch policy {
    case .failOpen: return health.map { !$0.isDraining }
    case .failClosed: return routable
    }
}
