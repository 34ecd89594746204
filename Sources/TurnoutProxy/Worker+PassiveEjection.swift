import TurnoutCore

/// Callbacks from the data plane to the control plane. They run on worker threads,
/// rarely (never per request in steady state), and must hand off quickly.
public struct ProxyEvents: Sendable {
    /// A worker saw a target fail `passive_ejection.consecutive_failures` times in a row.
    public var targetEjected: @Sendable (_ group: String, _ target: HostPort) -> Void

    public init(targetEjected: @escaping @Sendable (_ group: String, _ target: HostPort) -> Void = { _, _ in }) {
        self.targetEjected = targetEjected
    }
}

extension Worker {
    /// A connect failure, a reset before the response, or (when counted) a 5xx.
    func recordTargetFailure(_ target: TargetState) {
        target.consecutiveFailures += 1
        let limit = target.passiveEjection.consecutiveFailures
        guard limit > 0, target.consecutiveFailures >= limit, !target.ejected else { return }
        target.ejected = true
        logger.warning("target ejected after \(target.consecutiveFailures) consecutive failures",
                       metadata: ["target": "\(target.key)", "group": "\(target.groupName)"])
        events.targetEjected(target.groupName, target.key)
    }

    /// A response from the target: resets the failure run unless it is a counted 5xx.
    @inline(__always)
    func recordTargetResponse(_ target: TargetState, status: UInt16) {
        if status >= 500 && target.passiveEjection.count5xx {
            recordTargetFailure(target)
        } else {
            target.consecutiveFailures = 0
        }
    }
}
