import TurnoutCore

/// Callbacks from the data plane to the control plane. They run on worker threads,
/// rarely (never per request in steady state), and must hand off quickly.
public struct ProxyEvents: Sendable {
    /// A target failed `passive_ejection.consecutive_failures` times in a row (counted across
    /// workers; reported once per run, by the worker that saw the failure completing it).
    public var targetEjected: @Sendable (_ group: String, _ target: HostPort) -> Void

    public init(targetEjected: @escaping @Sendable (_ group: String, _ target: HostPort) -> Void = { _, _ in }) {
        self.targetEjected = targetEjected
    }
}

extension Worker {
    /// A connect failure, a reset before the response, or (when counted) a 5xx.
    /// Every worker that sees the run at or past the limit skips the target at once; the
    /// one whose failure completed the run reports it.
    func recordTargetFailure(_ target: TargetState) {
        let run = target.failureRun.recordFailure()
        let limit = target.passiveEjection.consecutiveFailures
        guard limit > 0, run >= limit, !target.ejected else { return }
        target.ejected = true
        guard run == limit else { return }
        logger.warning("target ejected after \(run) consecutive failures",
                       metadata: ["target": "\(target.key)", "group": "\(target.groupName)"])
        events.targetEjected(target.groupName, target.key)
    }

    /// A response from the target: resets the failure run unless it is a counted 5xx.
    @inline(__always)
    func recordTargetResponse(_ target: TargetState, status: UInt16) {
        if !target.recordResponse(status: status) { recordTargetFailure(target) }
    }
}

extension TargetState {
    /// A response from the target ends its run of failures, unless its status counts as one (a 5xx with
    /// `passive_ejection.count_5xx`): then this returns false and the worker records the failure.
    @inline(__always)
    func recordResponse(status: UInt16) -> Bool {
        if status >= 500 && passiveEjection.count5xx { return false }
        failureRun.recordSuccess()
        return true
    }
}
