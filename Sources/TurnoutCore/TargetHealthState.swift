/// Where a target stands, as ALB reports it (the raw values are the JSON strings).
public enum TargetHealthState: String, Sendable, CaseIterable {
    /// Registered, not yet through `healthy_threshold` passing checks (or the group checks nothing).
    case initial
    case healthy
    case unhealthy
    /// Deregistered: in-flight requests finish until the deregistration delay ends; no new traffic.
    case draining
    /// The group has no weight on any listener. Probes go on, so the state is known when traffic comes back.
    case unused
}

/// Why a target is in its state, with ALB's reason codes as raw values (the JSON strings). Healthy targets have
/// no reason.
public enum TargetHealthReason: String, Sendable, CaseIterable {
    /// `initial`: no probe has answered yet.
    case registrationInProgress = "Elb.RegistrationInProgress"
    /// `initial`: probes are running, the healthy threshold is not reached yet.
    case initialHealthChecking = "Elb.InitialHealthChecking"
    /// `unhealthy`: the target answered with a status the matcher refuses.
    case responseCodeMismatch = "Target.ResponseCodeMismatch"
    /// `unhealthy`: no complete response head within the check's timeout.
    case timeout = "Target.Timeout"
    /// `unhealthy`: the connection failed (refused, reset, closed early); the description says how.
    case failedHealthChecks = "Target.FailedHealthChecks"
    /// `unused`: the group has no weight on any listener.
    case notInUse = "Target.NotInUse"
    /// `draining`: the target was deregistered.
    case deregistrationInProgress = "Target.DeregistrationInProgress"
    /// `initial`: the group's health check is disabled; the target is routable anyway.
    case healthCheckDisabled = "Target.HealthCheckDisabled"
    /// `unhealthy`: the proxy saw too many consecutive failed requests (Turnout's own code, not ALB's).
    case passiveEjection = "Target.PassiveEjection"
}
