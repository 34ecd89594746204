import ArgumentParser
import Glibc
import Logging
import TurnoutControl
import TurnoutCore
import TurnoutMetrics
import TurnoutPosix
import TurnoutProxy
import TurnoutTLS

/// `turnout serve`: run the proxy and its admin API until SIGTERM or SIGINT.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the proxy and its admin API with the given configuration."
    )

    @OptionGroup var options: ConfigOptions

    @Option(help: "The process log's format, text or json (one JSON object per line); overrides the file's log.format.")
    var logFormat: LogFormat?

    @Option(help: "The least severe level logged, trace to critical; overrides the file's log.level.")
    var logLevel: LogLevel?

    func run() throws {
        // Before anything calls OpenSSL: its allocations recycle per thread rather than per record on the heap.
        let openSSLCaches = OpenSSLMemory.useThreadBlockCaches()
        let (config, lines) = try options.loadLocated()
        let log = LogConfig(format: logFormat ?? config.log.format, level: logLevel ?? config.log.level)
        Self.bootstrapLogging(log)
        let logger = Logger(label: "turnout")
        if !openSSLCaches { logger.warning("OpenSSL allocated before its allocator could be set; it keeps the heap") }
        let token = try options.checkFiles(of: config, creatingStateDir: true)
        let certificates = try options.loadCertificates(of: config, lines: lines)
        let storeTLS = try options.loadStoreTLS(of: config, lines: lines)
        let storePassword = try options.loadStorePassword(of: config, lines: lines)

        // Signals are taken synchronously from a signalfd on the control loop; block them
        // before any worker exists so every thread inherits the mask.
        SignalDescriptor.block([SIGTERM, SIGINT, SIGHUP, SIGUSR1])
        signal(SIGPIPE, SIG_IGN)

        do {
            let startup = try ServeStartup(config: config, configPath: options.config, token: token,
                                           certificates: certificates, storeTLS: storeTLS, storePassword: storePassword, logger: logger)
            try startup.run()
        } catch {
            // A line of the log's own format, so that a shipper parsing JSON lines reads why the process stopped.
            if log.format == .json { logger.critical("\(error)") } else { printError("error: \(error)") }
            throw ExitCode(1)
        }
    }

    /// Installs the process log's handler, for every logger made after: swift-log's stream handler or
    /// `JSONLogHandler`, both on standard error.
    static func bootstrapLogging(_ log: LogConfig) {
        let level = Logger.Level(rawValue: log.level.rawValue)!
        switch log.format {
        case .text:
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        case .json:
            let output = LogLineOutput()
            LoggingSystem.bootstrap { label in
                var handler = JSONLogHandler(label: label, output: output)
                handler.logLevel = level
                return handler
            }
        }
    }
}

extension LogFormat: ExpressibleByArgument {}
extension LogLevel: ExpressibleByArgument {}
