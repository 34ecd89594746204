import ArgumentParser

/// `turnout status`: listeners with their weights, target groups, every target's health.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the routing generation, listeners' weights and every target's health."
    )

    @OptionGroup var admin: AdminOptions

    func run() throws {
        let session = try AdminSession(admin)
        let status = try session.perform(AdminClientRequest(.get, "/v1/status"))
        session.show(StatusTable.render(status: status))
    }
}
