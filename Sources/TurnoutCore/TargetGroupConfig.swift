/// A named set of targets with a health check and a deregistration delay (`blue`, `green`, ...).
public struct TargetGroupConfig: Sendable, Hashable {
    public var name: String
    /// May be empty: a group can exist before its targets are registered. A target is an address or a name
    /// (`app-green:3000`); a name stands for every address it resolves to, looked up every `dnsRefresh`.
    public var targets: [HostPort]
    public var algorithm: TargetAlgorithm
    public var healthCheck: HealthCheckConfig
    /// How long a removed target (or a group that lost all weight) keeps its in-flight requests and idle
    /// upstream connections before they are closed. 0...3600s as in ALB.
    public var deregistrationDelay: ConfigDuration
    /// Where traffic goes when no target is routable. YAML key `on_all_unhealthy`.
    public var onAllUnhealthy: AllUnhealthyPolicy
    /// Ejection of targets on the failures the proxy sees. YAML key `passive_ejection`.
    public var passiveEjection: PassiveEjectionConfig
    /// Time limits of this group's requests that differ from the top-level `timeouts`.
    public var timeouts: GroupTimeouts
    /// How often the names among `targets` are looked up again. YAML key `dns_refresh`.
    public var dnsRefresh: ConfigDuration
    /// Re-encryption to the targets; nil: plain HTTP.
    public var tls: UpstreamTLSConfig?

    /// The range ALB allows for the deregistration delay.
    public static let deregistrationDelayRange = ConfigDuration.seconds(0)...ConfigDuration.seconds(3600)
    /// The range of `dns_refresh`: not below a second, so that no group hammers its DNS server.
    public static let dnsRefreshRange = ConfigDuration.seconds(1)...ConfigDuration.seconds(3600)

    public init(
        name: String,
        targets: [HostPort] = [],
        algorithm: TargetAlgorithm = .roundRobin,
        healthCheck: HealthCheckConfig = HealthCheckConfig(),
        deregistrationDelay: ConfigDuration = .seconds(30),
        onAllUnhealthy: AllUnhealthyPolicy = .failOpen,
        passiveEjection: PassiveEjectionConfig = PassiveEjectionConfig(),
        timeouts: GroupTimeouts = GroupTimeouts(),
        dnsRefresh: ConfigDuration = .seconds(5),
        tls: UpstreamTLSConfig? = nil
    ) {
        self.name = name
        self.targets = targets
        self.algorithm = algorithm
        self.healthCheck = healthCheck
        self.deregistrationDelay = deregistrationDelay
        self.onAllUnhealthy = onAllUnhealthy
        self.passiveEjection = passiveEjection
        self.timeouts = timeouts
        self.dnsRefresh = dnsRefresh
        self.tls = tls
    }
}

extension TargetGroupConfig {
    /// Checks a group's target list: every target has a port, none is listed twice. Shared by configuration
    /// validation and runtime target changes.
    static func validateTargets(_ targets: [HostPort], group: String) throws(ConfigError) {
        for (index, target) in targets.enumerated() {
            let key = "target_groups.\(group).targets[\(index)]"
            if target.port == 0 {
                throw ConfigError(key: key, message: "a target needs a port 1...65535, got \(target)")
            }
            if let first = targets[..<index].firstIndex(of: target) {
                throw ConfigError(key: key, message: "duplicate target \(target) (also targets[\(first)])")
            }
        }
    }
}

/// How a target group chooses one of its targets for a request (ALB's `load_balancing.algorithm.type`).
public enum TargetAlgorithm: String, Sendable, CaseIterable {
    /// Each target in turn.
    case roundRobin = "round_robin"
    /// The target with the fewest requests in flight on this worker; ties go round-robin.
    case leastOutstandingRequests = "least_outstanding_requests"
}

/// What a target group does when none of its targets is routable (YAML `on_all_unhealthy`).
public enum AllUnhealthyPolicy: String, Sendable, CaseIterable {
    /// Send traffic to every target that is not draining, as ALB does: a health check that fails everywhere
    /// is more often wrong than every target at once.
    case failOpen = "fail_open"
    /// Send nothing: requests for the group get 503.
    case failClosed = "fail_closed"
}

/// A target group's own time limits (YAML `target_groups.<name>.timeouts`). A limit left nil takes the value of
/// the top-level `timeouts` section.
public struct GroupTimeouts: Sendable, Hashable {
    /// From the end of the request to the response head, and between response body reads, for requests routed
    /// to this group. Set it for a group whose application is slower (or must fail faster) than the rest.
    public var upstreamResponse: ConfigDuration?

    public init(upstreamResponse: ConfigDuration? = nil) {
        self.upstreamResponse = upstreamResponse
    }
}
