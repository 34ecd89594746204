import ArgumentParser
import Glibc
import TurnoutControl
import TurnoutCore
import TurnoutPosix
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
    /// and the file, and the process exits with status 2 before anything binds. By listener name. A target group's
    /// `tls.ca_file` is read the same way.
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
        for group in config.targetGroups {
            guard let tls = group.tls else { continue }
            do {
                try TLSClientContext.check(tls, group: group.name, lines: lines)
            } catch {
                printError("error: \(self.config): \(error)")
                throw ExitCode(2)
            }
        }
        return loaded
    }

    /// The context `state.tls` makes for speaking HTTPS to etcd, nil for plain HTTP; the same for `serve` and
    /// `check`. A CA file, certificate or key that cannot be used is reported as a target group's `tls.ca_file` is,
    /// naming `state.tls.ca_file`, `.cert` or `.key` and its line, and the process exits with status 2.
    func loadStoreTLS(of config: TurnoutConfig, lines: ConfigSourceMap) throws -> TLSClientContext? {
        guard config.state.store == .etcd, let tls = config.state.tls else { return nil }
        var key = "state.tls"
        do {
            var certificate: TLSCertificate?
            if let cert = tls.cert, let keyFile = tls.key {
                do {
                    certificate = try TLSCertificate(certPath: cert, keyPath: keyFile)
                } catch {
                    key += error.file == cert && error.file != keyFile ? ".cert" : ".key"
                    throw error
                }
            }
            if tls.server.caFile != nil { key = "state.tls.ca_file" }
            return try TLSClientContext(verify: tls.server.verify, caFile: tls.server.caFile, certificate: certificate)
        } catch {
            printError("error: \(self.config): \(ConfigError(key: key, line: lines.line(of: key), message: "\(error)"))")
            throw ExitCode(2)
        }
    }

    /// The etcd user's password `state.password_file` holds, nil without one; the same for `serve` and `check`. A
    /// file that cannot be read or is empty is reported naming the key and its line, and the process exits with
    /// status 2.
    func loadStorePassword(of config: TurnoutConfig, lines: ConfigSourceMap) throws -> String? {
        guard config.state.store == .etcd, let path = config.state.passwordFile else { return nil }
        do {
            return try SecretFile.read(path, kind: "password")
        } catch {
            let key = "state.password_file"
            printError("error: \(self.config): \(ConfigError(key: key, line: lines.line(of: key), message: error.description))")
            throw ExitCode(2)
        }
    }

    /// Checks what `config` names on disk, the same for `serve` and `check`: the token file
    /// holds a token, and `state_dir` (with the local store) can hold the state (`serve` creates it when missing,
    /// `check` creates nothing). A failure is reported naming the key and the path, and the
    /// process exits with status 2 before anything binds. Returns the token.
    func checkFiles(of config: TurnoutConfig, creatingStateDir: Bool) throws -> String? {
        var token: String?
        if let path = config.admin.tokenFile {
            do {
                token = try SecretFile.read(path)
            } catch {
                printError("error: admin.token_file: \(error)")
                throw ExitCode(2)
            }
        }
        // With `state.store: etcd` nothing is kept in state_dir.
        do {
            if config.state.store == .local { try StateDirectory.check(config.stateDir, create: creatingStateDir) }
        } catch {
            printError("error: state_dir: \(error)")
            throw ExitCode(2)
        }
        try checkAccessLogs(of: config)
        return token
    }

    /// Each access log's file can be written: an existing file (or FIFO) writable, or its directory there and
    /// writable for a new one. `serve` opens them before binding; this says so before.
    private func checkAccessLogs(of config: TurnoutConfig) throws {
        let files = PosixFileSystem()
        var checked: Set<String> = []
        for listener in config.listeners {
            guard let log = config.accessLog(of: listener), checked.insert(log.path).inserted else { continue }
            let key = config.accessLog?.path == log.path ? "access_log.path" : "listeners.\(listener.name).access_log.path"
            let directory = log.path.contains("/") ? String(log.path[..<log.path.lastIndex(of: "/")!]) : "."
            let problem: String?
            switch files.kind(of: log.path) {
            case .directory?:
                problem = "\(log.path) is a directory"
            case .regular?, .other?:
                problem = (try? files.checkAccess(log.path, W_OK)) == nil ? "\(log.path) cannot be written" : nil
            case nil:
                if files.kind(of: directory.isEmpty ? "/" : directory) != .directory {
                    problem = "no directory \(directory) for \(log.path)"
                } else {
                    problem = (try? files.checkAccess(directory.isEmpty ? "/" : directory, W_OK)) == nil
                        ? "\(log.path) cannot be created: \(directory) is not writable" : nil
                }
            }
            if let problem {
                printError("error: \(key): \(problem)")
                throw ExitCode(2)
            }
        }
    }
}
