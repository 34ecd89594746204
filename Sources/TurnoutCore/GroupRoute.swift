/// One target group in a routing snapshot.
public struct GroupRoute: Sendable, Hashable {
    public let name: String
    /// Registered targets, in registration order. Health is tracked elsewhere and applied when picking.
    public let targets: [HostPort]
    public let algorithm: TargetAlgorithm
    /// How long in-flight requests and idle upstream connections of a drained target or group are kept.
    public let deregistrationDelay: ConfigDuration
    /// Where traffic goes when no target of the group is routable.
    public let onAllUnhealthy: AllUnhealthyPolicy
    /// When the proxy takes a target out of rotation on its own observations.
    public let passiveEjection: PassiveEjectionConfig
    /// How the control thread probes the targets.
    public let healthCheck: HealthCheckConfig
    /// `timeouts.upstream_response` for requests routed to this group: the group's own, or the top-level one.
    /// Carried in the snapshot so that the workers take a change with the next publish.
    public let upstreamResponseTimeout: ConfigDuration

    init(
        name: String,
        targets: [HostPort],
        algorithm: TargetAlgorithm,
        deregistrationDelay: ConfigDuration,
        onAllUnhealthy: AllUnhealthyPolicy,
        passiveEjection: PassiveEjectionConfig,
        healthCheck: HealthCheckConfig,
        upstreamResponseTimeout: ConfigDuration
    ) {
        self.name = name
        self.targets = targets
        self.algorithm = algorithm
        self.deregistrationDelay = deregistrationDelay
        self.onAllUnhealthy = onAllUnhealthy
        self.passiveEjection = passiveEjection
        self.healthCheck = healthCheck
        self.upstreamResponseTimeout = upstreamResponseTimeout
    }

    /// The route of a configured group; `timeouts` is the top-level section, for limits the group leaves unset.
    init(config: TargetGroupConfig, timeouts: Timeouts) {
        self.init(
            name: config.name,
            targets: config.targets,
            algorithm: config.algorithm,
            deregistrationDelay: config.deregistrationDelay,
            onAllUnhealthy: config.onAllUnhealthy,
            passiveEjection: config.passiveEjection,
            healthCheck: config.healthCheck,
            upstreamResponseTimeout: config.timeouts.upstreamResponse ?? timeouts.upstreamResponse
        )
    }

    /// The same group with another target list; every other setting is kept.
    func replacingTargets(_ targets: [HostPort]) -> GroupRoute {
        GroupRoute(
            name: name,
            targets: targets,
            algorithm: algorithm,
            deregistrationDelay: deregistrationDelay,
            onAllUnhealthy: onAllUnhealthy,
            passiveEjection: passiveEjection,
            healthCheck: healthCheck,
            upstreamResponseTimeout: upstreamResponseTimeout
        )
    }
}
