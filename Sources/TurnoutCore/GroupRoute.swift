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

    init(
        name: String,
        targets: [HostPort],
        algorithm: TargetAlgorithm,
        deregistrationDelay: ConfigDuration,
        onAllUnhealthy: AllUnhealthyPolicy,
        passiveEjection: PassiveEjectionConfig,
        healthCheck: HealthCheckConfig
    ) {
        self.name = name
        self.targets = targets
        self.algorithm = algorithm
        self.deregistrationDelay = deregistrationDelay
        self.onAllUnhealthy = onAllUnhealthy
        self.passiveEjection = passiveEjection
        self.healthCheck = healthCheck
    }

    /// The route of a configured group.
    init(config: TargetGroupConfig) {
        self.init(
            name: config.name,
            targets: config.targets,
            algorithm: config.algorithm,
            deregistrationDelay: config.deregistrationDelay,
            onAllUnhealthy: config.onAllUnhealthy,
            passiveEjection: config.passiveEjection,
            healthCheck: config.healthCheck
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
            healthCheck: healthCheck
        )
    }
}
