import ArgumentParser
import TurnoutControl

/// The deployment and options an action (`promote`, `rollback`, ...) applies to.
struct DeploymentActionOptions: ParsableArguments {
    @Argument(help: "The deployment's id (default: the one in progress).")
    var id: String?

    @OptionGroup var admin: AdminOptions

    /// `POST /v1/deployments/{id}/{action}` and the deployment after it.
    func perform(_ action: String) throws {
        let session = try AdminSession(admin)
        let id = try self.id ?? Self.theOneInProgress(session)
        let path = "/v1/deployments/\(AdminPath.segment(id))/\(action)"
        let deployment = try session.perform(AdminClientRequest(.post, path, body: .object([:])))
        session.show(DeploymentText.view(deployment, now: AuditTimestamp.nowMilliseconds()))
    }

    /// The id of the one deployment in progress; none or several is an error naming what to do.
    private static func theOneInProgress(_ session: AdminSession) throws -> String {
        let all = try session.read(AdminClientRequest(.get, "/v1/deployments"))["deployments"]?.arrayValue ?? []
        let active = all.filter(DeploymentText.isActive).compactMap { $0["id"]?.stringValue }
        guard active.count == 1 else {
            if active.isEmpty {
                printError("error: no deployment is in progress (`turnout deployments` lists the finished ones)")
            } else {
                printError("error: \(active.count) deployments are in progress (\(active.joined(separator: ", "))): give the id of one")
            }
            throw AdminSession.apiErrorExit
        }
        return active[0]
    }
}

/// `turnout promote [ID]`.
struct PromoteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "promote", abstract: "Skip a deployment's remaining waits, approvals and intermediate steps.")
    @OptionGroup var options: DeploymentActionOptions
    func run() throws { try options.perform("promote") }
}

/// `turnout rollback [ID]`.
struct RollbackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback", abstract: "Move a deployment's production and test traffic back to the live group.")
    @OptionGroup var options: DeploymentActionOptions
    func run() throws { try options.perform("rollback") }
}

/// `turnout approve [ID]`.
struct ApproveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve", abstract: "Answer a deployment that is waiting for approval: go on.")
    @OptionGroup var options: DeploymentActionOptions
    func run() throws { try options.perform("approve") }
}

/// `turnout pause [ID]`.
struct PauseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause", abstract: "Freeze a deployment's waits until `turnout resume`.")
    @OptionGroup var options: DeploymentActionOptions
    func run() throws { try options.perform("pause") }
}

/// `turnout resume [ID]`.
struct ResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume", abstract: "Let a paused deployment go on with the time it had left.")
    @OptionGroup var options: DeploymentActionOptions
    func run() throws { try options.perform("resume") }
}

/// `turnout stop [ID]`.
struct StopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop", abstract: "End a deployment where it is, routing as it stands.")
    @OptionGroup var options: DeploymentActionOptions
    func run() throws { try options.perform("stop") }
}
