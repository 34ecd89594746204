/// One target group in a routing snapshot.
public struct GroupRoute: Sendable, Hashable {
    public let name: String
    /// Registered targets, in registration order. Health is tracked elsewhere and applied when picking.
    public let targets: [HostPort]
    public let algorithm: TargetAlgorithm
    /// How long in-flight requests and idle upstream connections of a drained target or group are kept.
    public let deregistrationDelay: ConfigDuration

    init(name: String, targets: [HostPort], algorithm: TargetAlgorithm, deregistrationDelay: ConfigDuration) {
        self.name = name
        self.targets = targets
        self.algorithm = algorithm
        self.deregistrationDelay = deregistrationDelay
    }
}
