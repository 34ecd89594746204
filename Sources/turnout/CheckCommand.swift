import ArgumentParser
import TurnoutCore

/// `turnout check`: validate a configuration without starting anything.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a configuration file and exit (non-zero naming the key when it is wrong)."
    )

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        let targets = config.targetGroups.reduce(0) { $0 + $1.targets.count }
        print("\(options.config): OK (\(config.listeners.count) listeners, \(config.targetGroups.count) target groups, \(targets) targets)")
    }
}
