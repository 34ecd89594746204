/// Taking a target out of rotation on the failures the proxy sees, between two health checks
/// (YAML `passive_ejection`). The next passing health check puts it back.
public struct PassiveEjectionConfig: Sendable, Hashable {
    /// Consecutive failed requests (connect errors, resets, timeouts, and 5xx when `count5xx`) that eject a
    /// target; 0 disables ejection. YAML key `consecutive_failures`, 0...100.
    public var consecutiveFailures: Int
    /// Whether a 5xx answer counts as a failure. YAML key `count_5xx`.
    public var count5xx: Bool

    /// The values `consecutive_failures` may take.
    public static let consecutiveFailuresRange = 0...100

    public init(consecutiveFailures: Int = 5, count5xx: Bool = true) {
        self.consecutiveFailures = consecutiveFailures
        self.count5xx = count5xx
    }

    /// Whether the proxy ejects targets at all.
    public var isEnabled: Bool { consecutiveFailures > 0 }
}
