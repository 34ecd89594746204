import Glibc
import Logging
import TurnoutControl
import TurnoutCore
import TurnoutMetrics
import TurnoutPosix
import TurnoutProxy

/// Everything `serve` sets up, in the order that keeps a bad start harmless: state
/// restored, every socket bound (data plane and admin), then probes and lookups start,
/// and the workers once every target name has had its first answer.
struct ServeStartup {
    let config: TurnoutConfig
    let configPath: String
    let logger: Logger
    let loop: ControlLoop
    let proxy: Proxy
    let plane: ControlPlane
    let admin: AdminServer
    let signals: SignalDescriptor

    init(config: TurnoutConfig, configPath: String, token: String?, logger: Logger) throws {
        self.config = config
        self.configPath = configPath
        self.logger = logger
        let store = StateStore(directory: config.stateDir, logger: logger)
        let journal = StateJournal(directory: config.stateDir, logger: logger)
        var table = RoutingTable(config: config, generation: 1)
        let recovered = StateRecovery.recover(store: store, journal: journal, logger: logger)
        if let state = recovered.state {
            table = StateRestore.apply(state, over: config, logger: logger)
            logger.notice("restored state from \(config.stateDir) (\(recovered.replayed) journal records replayed): routing table generation \(table.generation)")
        } else {
            logger.notice("no saved state in \(config.stateDir); starting from \(configPath)")
        }
        do {
            try journal.open()
        } catch {
            throw ProxyStartError(description: "state_dir: \(error)")
        }

        loop = try ControlLoop()
        let handle = ControlPlaneHandle(loop: loop)
        let metrics = MetricsRegistry()
        proxy = try Proxy(config: config, table: table, metrics: metrics,
                          events: ProxyEvents(targetEjected: { group, target in handle.targetEjected(group: group, target: target) }),
                          logger: logger)
        plane = ControlPlane(config: config, table: table, recovered: recovered, dataPlane: proxy, clock: loop,
                             prober: SocketHealthProber(loop: loop), resolver: ThreadedNameResolver(loop: loop), store: store,
                             journal: journal, metrics: metrics, token: token, logger: logger)
        handle.attach(plane)
        let adminAddress: SocketAddress
        do {
            adminAddress = try SocketAddress.resolve(host: config.admin.bind.host, port: config.admin.bind.port)
        } catch {
            throw ProxyStartError(description: "admin.bind: cannot resolve \(config.admin.bind): \(error)")
        }
        do {
            let plane = self.plane
            admin = try AdminServer(loop: loop, address: adminAddress, logger: logger) { plane.handle($0) }
        } catch {
            throw ProxyStartError(description: "admin.bind: cannot listen on \(config.admin.bind): \(error)")
        }
        signals = try SignalDescriptor([SIGTERM, SIGINT, SIGHUP])
    }

    /// How long the workers wait for the first answers of the target names before they take connections anyway.
    static let firstLookupWait: UInt64 = 5_000_000_000

    /// Runs until SIGTERM/SIGINT, then drains. Throws when the workers cannot start (none serves then).
    ///
    /// The listening sockets are bound already, so connections that come while the first lookups run wait in
    /// the backlog rather than meet a group without its addresses (as Envoy waits for its DNS clusters' first
    /// resolution before its listeners take traffic). A name that does not resolve (yet) does not stop the
    /// start: after `firstLookupWait`, or its failed answer, the workers start and the name is looked up again
    /// every `dns_refresh`.
    func run() throws {
        plane.start()
        let plane = self.plane, loop = self.loop, signals = self.signals, logger = self.logger, proxy = self.proxy
        let configPath = self.configPath, admin = self.admin, config = self.config
        let startFailure = StartFailure()
        plane.whenEveryNameAnswered(within: Self.firstLookupWait) {
            do {
                try proxy.start()
            } catch {
                startFailure.error = error
                admin.close()
                loop.stop()
                return
            }
            for listener in config.listeners {
                let port = proxy.boundPorts[listener.name].map(String.init) ?? "?"
                logger.notice("listener \(listener.name) on \(listener.bind.host):\(port)")
            }
            logger.notice("admin API on \(config.admin.bind.host):\(admin.port)")
            logger.notice("turnout \(TurnoutVersion.string) serving with \(proxy.workerCount) workers; routing table generation \(plane.generation)")
        }

        loop.register(fd: signals.fd, events: [.readable]) { _ in
            guard let signal = signals.take() else { return }
            if signal == SIGHUP {
                plane.reload(from: configPath, readToken: { path in try path.map(AdminTokenFile.read) })
                return
            }
            logger.notice("signal \(signal): draining (grace \(config.timeouts.shutdownGrace.milliseconds) ms)")
            admin.close()
            proxy.shutdown()
            loop.stop()
        }
        loop.run()
        proxy.wait()
        if let error = startFailure.error { throw error }
        logger.notice("stopped")
    }
}

/// Why the workers could not start, set on the control loop and read once it stopped.
private final class StartFailure {
    var error: (any Error)?
}

/// The proxy is the data plane the control plane publishes to (`publish` and `boundPorts` are its own).
extension Proxy: DataPlane {}
