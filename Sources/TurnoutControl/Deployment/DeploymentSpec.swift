import TurnoutCore
import TurnoutMetrics

/// What a deployment is asked to do: `POST /v1/deployments`'s body (the CLI reads it from YAML), checked
/// the way `turnout check` checks the configuration. See `config/deployment.example.yaml`.
public struct DeploymentSpec: Sendable, Hashable {
    /// The listener whose traffic shifts.
    public var listener: String
    /// The listener pointed at the replacement before production moves; nil: none.
    public var testListener: String?
    /// The replacement group.
    public var targetGroup: String
    /// Registered into the replacement group before anything else.
    public var targets: [HostPort]
    public var strategy: DeploymentStrategy
    public var readiness: Readiness
    /// Starts the replacement (`Install`), and retires the old version (`Retire`).
    public var install: HookSpec?
    public var terminate: HookSpec?
    /// The lifecycle hooks, by the phase they run in (`BeforeInstall`, `AfterInstall`, `AfterAllowTestTraffic`,
    /// `BeforeAllowTraffic`, `AfterAllowTraffic`).
    public var hooks: [DeploymentPhase: HookSpec]
    public var alarms: DeploymentAlarms?
    public var approval: Approval
    /// How long the old group stays ready for an instant rollback once production is on the replacement.
    public var terminationWait: ConfigDuration
    /// The listener's rule whose forward shifts (one service behind a shared listener); nil: the listener's own
    /// forward.
    public var rule: String? = nil

    /// The gate before any weight moves: enough of the replacement's targets routable (healthy, or
    /// registered in a group without health checks).
    public struct Readiness: Sendable, Hashable {
        public enum MinHealthy: Sendable, Hashable {
            case count(Int)
            case percent(Int)
        }

        public var minHealthy: MinHealthy
        public var timeout: ConfigDuration

        /// Whether `healthy` of `total` targets pass. A group without targets is never ready (unless the
        /// minimum is 0).
        public func isMet(healthy: Int, total: Int) -> Bool {
            switch minHealthy {
            case .count(let count): return healthy >= count
            case .percent(let percent): return percent == 0 || (total > 0 && healthy * 100 >= percent * total)
            }
        }
    }

    /// An approval before production moves, and what an unanswered approval (of a step too) does.
    public struct Approval: Sendable, Hashable {
        public enum OnTimeout: String, Sendable, Hashable {
            case rollback
            /// Carry on as if approved.
            case `continue`
        }

        public var beforeTraffic: Bool
        /// Nil: an approval waits for ever.
        public var timeout: ConfigDuration?
        public var onTimeout: OnTimeout
    }

    public static let defaultHookTimeout = ConfigDuration.seconds(300)
    public static let defaultReadiness = Readiness(minHealthy: .percent(100), timeout: .seconds(300))
}

/// What rolls a deployment back by itself: limits on the replacement group's recent figures (`FigureAlarms`)
/// judged over `window` every second, and on its unhealthy targets.
public struct DeploymentAlarms: Sendable, Hashable {
    public var figures: FigureAlarms
    /// The sliding window, in whole seconds (at least 1).
    public var windowSeconds: Int
    /// The most replacement targets that may be unhealthy; nil: not judged.
    public var maxUnhealthyTargets: Int?
}

/// A spec refused: the field (`strategy.steps[1].weight`) and what is wrong with it.
public struct DeploymentSpecError: Error, Sendable, Equatable, CustomStringConvertible {
    public var field: String
    public var message: String

    public var description: String { "'\(field)': \(message)" }
}
