import ArgumentParser
import Glibc
import TurnoutCore
import TurnoutTLS

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
        let (config, lines) = try options.loadLocated()
        _ = try options.checkFiles(of: config, creatingStateDir: false)
        let certificates = try options.loadCertificates(of: config, lines: lines)
        _ = try options.loadStoreTLS(of: config, lines: lines)
        _ = try options.loadStorePassword(of: config, lines: lines)
        for warning in Self.certificateWarnings(config, certificates, lines: lines, now: time(nil)) {
            printError("warning: \(options.config): \(warning)")
        }
        let targets = config.targetGroups.flatMap(\.targets)
        let names = targets.filter { !$0.isAddress }.count
        let byName = names == 0 ? "" : ", \(names) by name, looked up when serving"
        let https = certificates.isEmpty ? "" : ", \(certificates.count) HTTPS"
        print("\(options.config): OK (\(config.listeners.count) listeners\(https), \(config.targetGroups.count) target groups, \(targets.count) targets\(byName))")
    }

    /// What loads but deserves a look: a certificate expired (clients will refuse it), a name two certificates
    /// serve (the first wins).
    static func certificateWarnings(_ config: TurnoutConfig, _ certificates: [String: TLSServerConfiguration],
                                    lines: ConfigSourceMap, now: Int) -> [String] {
        var warnings: [String] = []
        for listener in config.listeners {
            guard let loaded = certificates[listener.name] else { continue }
            for (index, certificate) in loaded.certificates.enumerated() where certificate.notAfter <= Int64(now) {
                let key = "listeners.\(listener.name).tls.certificates[\(index)].cert"
                let line = lines.line(of: key).map { " (line \($0))" } ?? ""
                warnings.append("\(key)\(line): \(certificate.certPath) expired (notAfter \(certificate.notAfter), seconds since the epoch)")
            }
            for name in loaded.namesServedTwice {
                warnings.append("listeners.\(listener.name).tls.certificates: '\(name)' is served by more than one certificate; the first serves it")
            }
        }
        return warnings
    }
}
