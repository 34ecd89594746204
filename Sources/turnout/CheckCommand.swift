import ArgumentParser
import TurnoutCore

/// `turnout check`: validate a configuration without starting anything.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a configuration file, its token file and its state_dir, and exit (non-zero naming the key when one is wrong)."
    )

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        _ = try options.checkFiles(of: config, creatingStateDir: false)
        let targets = config.targetGroups.reduce(0) { $0 + $1.targets.count }
        print("\(options.config): OK (\(config.listeners.count) listeners, \(config.targetGroups.count) target groups, \(targets) targets)")
    }
}
