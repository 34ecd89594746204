/// How the control thread probes each target of a group (ALB target-group health check semantics).
public struct HealthCheckConfig: Sendable, Hashable {
    /// Whether targets are probed at all. Without checks every target is routable from registration.
    public var enabled: Bool
    /// Request path of the probe; must start with `/`.
    public var path: String
    /// Port to probe instead of the target's own port.
    public var port: UInt16?
    /// Time between two probes of one target.
    public var interval: ConfigDuration
    /// A probe without a full answer within this time fails; must be shorter than `interval`.
    public var timeout: ConfigDuration
    /// Consecutive passing probes that make a target healthy (2...10). YAML key `healthy_threshold`.
    public var healthyThreshold: Int
    /// Consecutive failing probes that make a target unhealthy (2...10). YAML key `unhealthy_threshold`.
    public var unhealthyThreshold: Int
    /// Status codes that pass.
    public var matcher: StatusMatcher
    /// `Host` header of the probe; when nil, the target's host and the port probed (`port` if set).
    public var host: String?

    /// The range ALB allows for both thresholds.
    public static let thresholdRange = 2...10

    public init(
        enabled: Bool = true,
        path: String = "/health",
        port: UInt16? = nil,
        interval: ConfigDuration = .seconds(5),
        timeout: ConfigDuration = .seconds(2),
        healthyThreshold: Int = 2,
        unhealthyThreshold: Int = 2,
        matcher: StatusMatcher = .successOrRedirect,
        host: String? = nil
    ) {
        self.enabled = enabled
        self.path = path
        self.port = port
        self.interval = interval
        self.timeout = timeout
        self.healthyThreshold = healthyThreshold
        self.unhealthyThreshold = unhealthyThreshold
        self.matcher = matcher
        self.host = host
    }
}
