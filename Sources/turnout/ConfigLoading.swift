import ArgumentParser
import TurnoutCore

/// Options shared by the commands that read a configuration file.
struct ConfigOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "The YAML configuration file.")
    var config: String = "config/turnout.yaml"

    /// Loads and validates the file. A bad file is reported on standard error, naming the
    /// key, and the process exits with status 2 before anything binds.
    func load() throws -> TurnoutConfig {
        do {
            return try ConfigLoader.load(path: config)
        } catch let error as ConfigError {
            printError("error: \(config): \(error)")
            throw ExitCode(2)
        }
    }
}
