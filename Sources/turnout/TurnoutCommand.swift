import ArgumentParser
import TurnoutPosix
import Glibc

/// `turnout`: the proxy and the commands that manage it.
@main
struct TurnoutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "turnout",
        abstract: "A layer-7 reverse proxy that moves live traffic between blue and green target groups.",
        version: TurnoutVersion.string,
        subcommands: [
            ServeCommand.self, CheckCommand.self, StatusCommand.self, SwitchCommand.self, WeightsCommand.self,
            TargetsCommand.self, ReloadCommand.self, ResetCommand.self, DeployCommand.self, DeploymentsCommand.self,
            PromoteCommand.self, RollbackCommand.self, ApproveCommand.self, PauseCommand.self, ResumeCommand.self,
            StopCommand.self,
        ]
    )
}

enum TurnoutVersion {
    static let string = "0.1.0"
}

/// Writes a line to standard error (messages for people, not logs).
func printError(_ message: String) {
    FileIO.writeStandardError(message + "\n")
}
