import ArgumentParser
import TurnoutControl
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

    /// Checks what `config` names on disk, the same for `serve` and `check`: the token file
    /// holds a token, and `state_dir` can hold the state (`serve` creates it when missing,
    /// `check` creates nothing). A failure is reported naming the key and the path, and the
    /// process exits with status 2 before anything binds. Returns the token.
    func checkFiles(of config: TurnoutConfig, creatingStateDir: Bool) throws -> String? {
        var token: String?
        if let path = config.admin.tokenFile {
            do {
                token = try AdminTokenFile.read(path)
            } catch {
                printError("error: admin.token_file: \(error)")
                throw ExitCode(2)
            }
        }
        do {
            try StateDirectory.check(config.stateDir, create: creatingStateDir)
        } catch {
            printError("error: state_dir: \(error)")
            throw ExitCode(2)
        }
        return token
    }
}
