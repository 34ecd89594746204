/// The whole configuration file, parsed. Build one with `ConfigLoader`, or in code and then call `validate()`.
public struct TurnoutConfig: Sendable, Hashable {
    /// Worker threads; nil means one per CPU core. 1...256.
    public var workers: Int?
    /// Where runtime state (weights, targets, deployments) is kept across restarts.
    public var stateDir: String
    /// Which store keeps the routing state: `state_dir` (the default) or a shared etcd cluster.
    public var state: StateConfig
    public var admin: AdminConfig
    /// In file order.
    public var listeners: [ListenerConfig]
    /// In file order.
    public var targetGroups: [TargetGroupConfig]
    public var timeouts: Timeouts
    public var limits: Limits
    public var log: LogConfig
    /// The access log of every listener that does not set its own; nil: none.
    public var accessLog: AccessLogConfig?

    /// The range of an explicit worker count.
    public static let workersRange = 1...256

    public init(
        workers: Int? = nil,
        stateDir: String = ".turnout",
        state: StateConfig = StateConfig(),
        admin: AdminConfig = AdminConfig(),
        listeners: [ListenerConfig],
        targetGroups: [TargetGroupConfig],
        timeouts: Timeouts = Timeouts(),
        limits: Limits = Limits(),
        log: LogConfig = LogConfig(),
        accessLog: AccessLogConfig? = nil
    ) {
        self.workers = workers
        self.stateDir = stateDir
        self.state = state
        self.admin = admin
        self.listeners = listeners
        self.targetGroups = targetGroups
        self.timeouts = timeouts
        self.limits = limits
        self.log = log
        self.accessLog = accessLog
    }
}
