import ArgumentParser
import Glibc
import Logging
import TurnoutCore
import TurnoutPosix
import TurnoutProxy

/// `turnout serve`: run the proxy until SIGTERM or SIGINT; SIGHUP reloads routing.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the proxy with the given configuration."
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

        let config: TurnoutConfig
        do {
            config = try options.load()
        } catch let failure as ValidationFailure {
            printError("error: \(failure.message)")
            throw ExitCode(2)
        }

        // Signals are taken synchronously from a signalfd on this thread; block them
        // before any worker exists so every thread inherits the mask.
        SignalDescriptor.block([SIGTERM, SIGINT, SIGHUP])
        signal(SIGPIPE, SIG_IGN)
        let signals = try SignalDescriptor([SIGTERM, SIGINT, SIGHUP])

        let proxy: Proxy
        do {
            proxy = try Proxy(config: config, table: RoutingTable(config: config, generation: 1), logger: logger)
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        try proxy.start()
        for listener in config.listeners {
            let port = proxy.boundPorts[listener.name].map(String.init) ?? "?"
            let forward = listener.forward.map { "\($0.group)=\($0.weight)" }.joined(separator: " ")
            logger.notice("listener \(listener.name) on \(listener.bind.host):\(port) forwarding \(forward)")
        }
        logger.notice("turnout \(TurnoutVersion.string) serving with \(proxy.workerCount) workers; routing table generation 1")

        var reloader = RoutingReloader(path: options.config, running: config, generation: 1, logger: logger)
        while true {
            let signal = signals.next()
            if signal == SIGHUP {
                if let table = reloader.reload() {
                    proxy.publish(table)
                    logger.notice("published routing table generation \(table.generation)")
                }
                continue
            }
            logger.notice("signal \(signal): draining (grace \(config.timeouts.shutdownGrace.milliseconds) ms)")
            proxy.shutdown()
            proxy.wait()
            logger.notice("stopped")
            return
        }
    }
}
