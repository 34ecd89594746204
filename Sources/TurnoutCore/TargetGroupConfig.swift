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
        dnsRefresh: ConfigDuration = .seconds(5)
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
    }
}
