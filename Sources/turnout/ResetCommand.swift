import ArgumentParser
import TurnoutControl

/// `turnout reset --to-config`: every forward and target list back to the configuration file's.
struct ResetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset",
        abstract: "Put the configuration file's forwards and target lists back in force.",
        discussion: """
            Changes made through the admin API or the CLI are saved and outlive restarts; `turnout status` lists \
            those that differ from the file. This puts back the forwards and target lists of the configuration \
            last read (at start, or by the last `turnout reload`: after editing the file, reload first) in one \
            audited generation; targets the file does not list drain.
            """
    )

    @Flag(help: "Reset to the configuration file (the one kind of reset there is; required).")
    var toConfig = false

    @OptionGroup var routing: AdminRoutingOptions
    @OptionGroup var admin: AdminOptions

    func validate() throws {
        guard toConfig else { throw ValidationError("say what to reset to: --to-config") }
    }

    func run() throws {
        let session = try AdminSession(admin)
        let request = AdminClientRequest(.post, "/v1/reset", body: ["to": "config"])
        let answer = try session.perform(routing.apply(to: request))
        session.show(AdminChangeReport.reset(answer))
    }
}
