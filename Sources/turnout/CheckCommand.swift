import ArgumentParser
import TurnoutCore

/// `turnout check`: validate a configuration without starting anything. Targets named by host name are
/// accepted without being looked up: a container's name often resolves only inside its network, and
/// `serve` does not need it to resolve at start either (the target waits for its first address).
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a configuration file, its token file and its state_dir, and exit (non-zero naming the key when one is wrong)."
    )

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try options.load()
        _ = try options.checkFiles(of: config, creatingStateDir: false)
        let targets = config.targetGroups.flatMap(\.targets)
        let names = targets.filter { !$0.isAddress }.count
        let byName = names == 0 ? "" : ", \(names) by name, looked up when serving"
        print("\(options.config): OK (\(config.listeners.count) listeners, \(config.targetGroups.count) target groups, \(targets.count) targets\(byName))")
    }
}
