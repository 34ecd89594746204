import ArgumentParser
import TurnoutControl

/// `turnout deployments [ID]`: the deployments in progress and the last finished ones, or one of them.
struct DeploymentsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deployments",
        abstract: "List the deployments (in progress and the last finished), or show one with its phases."
    )

    @Argument(help: "A deployment's id (from the list); without it, all of them.")
    var id: String?

    @OptionGroup var admin: AdminOptions

    func run() throws {
        let session = try AdminSession(admin)
        guard let id else {
            let answer = try session.perform(AdminClientRequest(.get, "/v1/deployments"))
            session.show(DeploymentText.list(answer["deployments"]?.arrayValue ?? []))
            return
        }
        let deployment = try session.perform(AdminClientRequest(.get, "/v1/deployments/\(AdminPath.segment(id))"))
        session.show(DeploymentText.view(deployment, now: AuditTimestamp.nowMilliseconds()))
    }
}
