import ArgumentParser
import TurnoutControl

/// `turnout switch GROUP`: all of a listener's traffic to one group in one step.
struct SwitchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switch",
        abstract: "Send all of a listener's traffic to GROUP in one step.",
        discussion: """
            With --swap-test the test listener takes the group that had most of the production traffic, \
            in the same routing generation.
            """
    )

    @Argument(help: "The target group that takes all the traffic.")
    var group: String

    @Option(help: ArgumentHelp("The listener to switch (server default: production).", valueName: "name"))
    var listener: String?

    @Option(help: ArgumentHelp("Switch this rule's forward instead of the listener's own (which, like the other rules, stays as it is).",
                               valueName: "name"))
    var rule: String?

    @Flag(help: "Point the test listener at the group production used before.")
    var swapTest = false

    @Option(help: ArgumentHelp("The test listener for --swap-test (server default: test).", valueName: "name"))
    var testListener: String?

    @OptionGroup var routing: AdminRoutingOptions
    @OptionGroup var admin: AdminOptions

    func validate() throws {
        guard !group.isEmpty else { throw ValidationError("GROUP must not be empty") }
        if testListener != nil && !swapTest { throw ValidationError("--test-listener needs --swap-test") }
        if rule != nil && swapTest { throw ValidationError("--swap-test switches a listener's own forward, not a rule's") }
    }

    func run() throws {
        var body: [String: JSONValue] = ["to": .string(group)]
        if let listener { body["listener"] = .string(listener) }
        if let rule { body["rule"] = .string(rule) }
        if swapTest { body["swap_test"] = true }
        if let testListener { body["test_listener"] = .string(testListener) }
        let session = try AdminSession(admin)
        let answer = try session.perform(routing.apply(to: AdminClientRequest(.post, "/v1/switch", body: .object(body))))
        session.show(AdminChangeReport.routing(answer))
    }
}
