import ArgumentParser
import Glibc
import Logging
import TurnoutControl
import TurnoutCore
import TurnoutMetrics
import TurnoutPosix
import TurnoutProxy

/// `turnout serve`: run the proxy and its admin API until SIGTERM or SIGINT.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the proxy and its admin API with the given configuration."
    )

    @OptionGroup var options: ConfigOptions

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "turnout")

        let config = try options.load()
        let token = try options.checkFiles(of: config, creatingStateDir: true)

        // Signals are taken synchronously from a signalfd on the control loop; block them
        // before any worker exists so every thread inherits the mask.
        SignalDescriptor.block([SIGTERM, SIGINT, SIGHUP])
        signal(SIGPIPE, SIG_IGN)

        do {
            let startup = try ServeStartup(config: config, configPath: options.config, token: token, logger: logger)
            try startup.run()
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
    }
}
