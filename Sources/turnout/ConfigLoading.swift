import ArgumentParser
import TurnoutControl
import TurnoutCore
import TurnoutTLS

/// Options shared by the commands that read a configuration file.
struct ConfigOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "The YAML configuration file.")
    var config: String = "config/turnout.yaml"

    /// Loads and validates the file. A bad file is reported on standard error, naming the
    /// key, and the process exits with status 2 before anything binds.
    func load() throws -> TurnoutConfig {
        try loadLocated().config
    }

    /// Loads like `load()`, keeping the line of each key for the checks of what the file names.
    func loadLocated() throws -> (config: TurnoutConfig, lines: ConfigSourceMap) {
        do {
            return try ConfigLoader.loadLocated(path: config)
        } catch let error as ConfigError {
            printError("error: \(config): \(error)")
            throw ExitCode(2)
        }
    }

    /// Reads and checks every HTTPS listener's certificates, the same for `serve` and `check`: a file that cannot
    /// be read, is not PEM, or a key that does not match its certificate is reported naming the key, its line
    /// and the file, and the process exits with status 2 before anything binds. By listener name.
    func loadCertificates(of config: TurnoutConfig, lines: ConfigSourceMap) throws -> [String: TLSServerConfiguration] {
        var loaded: [String: TLSServerConfiguration] = [:]
        for listener in config.listeners {
            guard let tls = listener.tls else { continue }
            do {
                loaded[listener.name] = try TLSServerConfiguration.load(tls, key: "listeners.\(listener.name).tls", lines: lines)
            } catch {
                printError("error: \(self.config): \(error)")
                throw ExitCode(2)
            }
        }
        return loaded
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
