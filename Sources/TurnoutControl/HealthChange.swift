import TurnoutCore

/// A target's health changed state (reported once per transition, never per check).
public struct HealthChange: Sendable, Equatable, CustomStringConvertible {
    public let group: String
    public let target: HostPort
    /// The state before the change.
    public let previous: TargetHealthState
    /// The health after the change.
    public let health: TargetHealth

    public init(group: String, target: HostPort, previous: TargetHealthState, health: TargetHealth) {
        self.group = group
        self.target = target
        self.previous = previous
        self.health = health
    }

    /// The log line: `target 127.0.0.1:3000 in blue: healthy → unhealthy (Target.Timeout)`. Reasons whose
    /// description carries a detail (the refused connection, the status code) add it after a colon.
    public var description: String {
        var line = "target \(target) in \(group): \(previous.rawValue) → \(health.state.rawValue)"
        if let reason = health.reason {
            switch reason {
            case .failedHealthChecks, .responseCodeMismatch: line += " (\(reason.rawValue): \(health.description))"
            default: line += " (\(reason.rawValue))"
            }
        }
        return line
    }
}
