/// A deployment's lifecycle phases, in CodeDeploy's order for an ECS service; `Readiness` (the gate before
/// any traffic moves), `TerminationWait` and `Retire` are Turnout's names for what CodeDeploy does between
/// and after its events.
public enum DeploymentPhase: String, CaseIterable, Sendable, Hashable, Comparable {
    case beforeInstall = "BeforeInstall"
    /// Registers the spec's `targets` into the replacement group and runs `install`.
    case install = "Install"
    case afterInstall = "AfterInstall"
    case readiness = "Readiness"
    /// The test listener moves to the replacement.
    case allowTestTraffic = "AllowTestTraffic"
    case afterAllowTestTraffic = "AfterAllowTestTraffic"
    case beforeAllowTraffic = "BeforeAllowTraffic"
    /// The strategy's steps move production.
    case allowTraffic = "AllowTraffic"
    case afterAllowTraffic = "AfterAllowTraffic"
    /// The old group keeps its targets, ready for an instant rollback.
    case terminationWait = "TerminationWait"
    /// `terminate` runs; the replacement is the live group from now on.
    case retire = "Retire"

    /// The phases a spec's `hooks` may name.
    public static let hookPhases: [DeploymentPhase] = [
        .beforeInstall, .afterInstall, .afterAllowTestTraffic, .beforeAllowTraffic, .afterAllowTraffic,
    ]

    public static func < (lhs: DeploymentPhase, rhs: DeploymentPhase) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// Where a deployment is, with CodeDeploy's names.
public enum DeploymentStatus: String, Sendable, Hashable {
    /// Working through its phases (the phase and step say where).
    case inProgress = "InProgress"
    /// Held by `pause`: waits are frozen, nothing new starts until `resume`.
    case paused = "Paused"
    /// Held until `approve` (or the approval's timeout).
    case waitingForApproval = "WaitingForApproval"
    /// Moving traffic back to the live group.
    case rollingBack = "RollingBack"
    case succeeded = "Succeeded"
    case rolledBack = "RolledBack"
    /// Could not finish and could not roll back (or `terminate` failed after production moved).
    case failed = "Failed"
    /// Ended by `stop`: routing stays as it was.
    case stopped = "Stopped"

    /// Whether the deployment is over.
    public var isFinal: Bool {
        switch self {
        case .succeeded, .rolledBack, .failed, .stopped: return true
        case .inProgress, .paused, .waitingForApproval, .rollingBack: return false
        }
    }
}
