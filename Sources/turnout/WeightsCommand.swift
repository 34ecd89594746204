import ArgumentParser

/// `turnout weights LISTENER GROUP=W ...`: replace a listener's forward weights (canary, linear steps).
struct WeightsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weights",
        abstract: "Replace a listener's forward weights, e.g. `turnout weights production blue=90 green=10`.",
        discussion: "Groups not named get no traffic from the listener. Weights are 0...999, not all zero."
    )

    @Argument(help: "The listener whose weights change.")
    var listener: String

    @Argument(help: ArgumentHelp("The new weights, one per group.", valueName: "group=weight"))
    var weights: [String]

    @OptionGroup var routing: AdminRoutingOptions
    @OptionGroup var admin: AdminOptions

    func validate() throws {
        guard !weights.isEmpty else { throw ValidationError("give at least one GROUP=WEIGHT") }
        do {
            _ = try AdminWeightAssignment.parseAll(weights)
        } catch {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        let assignments = try AdminWeightAssignment.parseAll(weights)
        let path = "/v1/listeners/\(AdminPath.segment(listener))/forward"
        let session = try AdminSession(admin)
        let request = AdminRequest(.put, path, body: AdminWeightAssignment.forwardBody(assignments))
        let answer = try session.perform(routing.apply(to: request))
        session.show(AdminChangeReport.routing(answer))
    }
}
