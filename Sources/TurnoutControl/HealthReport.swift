import TurnoutCore

/// The health of one target as the status endpoint shows it.
public struct TargetHealthReport: Sendable, Equatable {
    public let target: HostPort
    public let health: TargetHealth
    /// Whether the target gets traffic now, after the group's `on_all_unhealthy` policy.
    public let routable: Bool

    public init(target: HostPort, health: TargetHealth, routable: Bool) {
        self.target = target
        self.health = health
        self.routable = routable
    }
}

/// The health of a group's targets: registered ones in registration order, then draining ones.
public struct GroupHealthReport: Sendable, Equatable {
    public let group: String
    public let targets: [TargetHealthReport]

    public init(group: String, targets: [TargetHealthReport]) {
        self.group = group
        self.targets = targets
    }
}
