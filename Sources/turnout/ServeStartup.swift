import Glibc
import Logging
import TurnoutControl
import TurnoutCore
import TurnoutMetrics
import TurnoutPosix
import TurnoutProxy
import TurnoutTLS

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
    /// The fleet's shared store, when `state.store` is etcd.
    let sharedStore: EtcdStateStore?

    init(config: TurnoutConfig, configPath: String, token: String?, certificates: [String: TLSServerConfiguration],
         storeTLS: TLSClientContext?, storePassword: String?, logger: Logger) throws {
        self.config = config
        self.configPath = configPath
        self.logger = logger
        loop = try ControlLoop()
        var table = RoutingTable(config: config, generation: 1)
        let store: any RoutingStateStore
        let recovered: StateRecovery.Outcome
        switch config.state.store {
        case .local:
            let local = LocalStateDirectory(snapshot: StateStore(directory: config.stateDir, logger: logger),
                                            journal: StateJournal(directory: config.stateDir, logger: logger))
            recovered = StateRecovery.recover(store: local.snapshot, journal: local.journal, logger: logger)
            store = local
        case .etcd:
            let shared = EtcdStateStore(config: config.state, tls: storeTLS, password: storePassword, loop: loop,
                                        logger: logger)
            // etcd unreachable at start: the configuration serves, changes are refused, and the store reads the
            // shared state as soon as etcd answers.
            recovered = StateRecovery.Outcome(state: try? shared.load())
            store = shared
        }
        let origin = config.state.store == .local ? config.stateDir : "etcd \(config.state.prefix)"
        if let state = recovered.state {
            table = StateRestore.apply(state, over: config, logger: logger)
            logger.notice("restored state from \(origin) (\(recovered.replayed) journal records replayed): routing table generation \(table.generation)")
            let differences = table.differences(from: config)
            if !differences.isEmpty {
                logger.warning("""
                    saved runtime changes differ from \(configPath) and stay in force: \
                    \(differences.map(\.description).joined(separator: "; ")); `turnout reset --to-config` puts back the file's
                    """)
            }
        } else {
            logger.notice("no saved state in \(origin); starting from \(configPath)")
        }
        if let local = store as? LocalStateDirectory {
            do {
                try local.journal.open()
            } catch {
                throw ProxyStartError(description: "state_dir: \(error)")
            }
        }

        let handle = ControlPlaneHandle(loop: loop)
        let metrics = MetricsRegistry()
        proxy = try Proxy(config: config, table: table, tls: certificates, metrics: metrics,
                          events: ProxyEvents(targetEjected: { group, target in handle.targetEjected(group: group, target: target) }),
                          logger: logger)
        // One resolver for target names and hooks' URLs: lookups off the control thread, answers on its loop.
        let resolver = ThreadedNameResolver(loop: loop)
        plane = ControlPlane(config: config, table: table, recovered: recovered, dataPlane: proxy, clock: loop,
                             prober: SocketHealthProber(loop: loop), resolver: resolver, store: store,
                             metrics: metrics, token: token, logger: logger)
        // Deployments' hooks and commands run on the control loop too (a pidfd per command, one exchange per request).
        plane.hookRunner = HookRunner(loop: loop, resolver: resolver)
        plane.certificates = certificates
        handle.attach(plane)
        sharedStore = store as? EtcdStateStore
        if let shared = sharedStore {
            let plane = self.plane
            shared.onChange = { plane.adoptShared($0) }
            shared.healthView = { plane.healthView }
            shared.onRunnersChanged = { plane.fleetRunnersChanged() }
            shared.onFigures = { plane.fleetFiguresReceived(instance: $0, $1) }
        }
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
        signals = try SignalDescriptor([SIGTERM, SIGINT, SIGHUP, SIGUSR1])
        // The fleet knows an instance by its host and admin port (the same across its restarts) and reaches it there.
        sharedStore?.register(instance: "\(Self.hostName()):\(admin.port)", address: "\(config.admin.bind.host):\(admin.port)")
    }

    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(cString: buffer)
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
        sharedStore?.startWatching()
        let plane = self.plane, loop = self.loop, signals = self.signals, logger = self.logger, proxy = self.proxy
        let admin = self.admin, config = self.config
        // systemd (Type=notify) hears that the workers serve, with every listener bound and the table published,
        // of each reload and of the drain; without NOTIFY_SOCKET nothing is sent.
        let notifier = ServiceNotification(logger: logger)
        let source = ConfigSource(path: configPath, readToken: { path in try path.map(SecretFile.read) },
                                  willReload: notifier.reloading, didReload: notifier.reloaded)
        plane.configSource = source
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
            notifier.ready(listeners: config.listeners.count, generation: plane.generation)
        }

        loop.register(fd: signals.fd, events: [.readable]) { _ in
            guard let signal = signals.take() else { return }
            if signal == SIGHUP {
                source.willReload()
                let outcome = plane.reload(from: source.path, caller: "SIGHUP", readToken: source.readToken)
                // The certificate files too: a renewed certificate is the commonest reason for a SIGHUP.
                plane.reloadCertificates(caller: "SIGHUP")
                source.didReload(outcome)
                return
            }
            if signal == SIGUSR1 {
                plane.reopenAccessLogs(caller: "SIGUSR1")
                return
            }
            logger.notice("signal \(signal): draining (grace \(config.timeouts.shutdownGrace.milliseconds) ms)")
            notifier.stopping(grace: config.timeouts.shutdownGrace)
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
extension Proxy: DataPlane {
    public func reopenAccessLogs() throws -> [String] {
        try accessLog?.reopen() ?? []
    }

    public var accessLogFigures: [AccessLogFigures] {
        (accessLog?.figures ?? []).map {
            AccessLogFigures(path: $0.path, written: $0.writtenLines, dropped: $0.droppedLines, failed: $0.failedLines)
        }
    }
}

/// What `serve` tells the service manager (`ServiceNotifier`, when `NOTIFY_SOCKET` is set): ready, reloading and
/// reloaded, stopping. A notification that cannot be sent is logged, never fatal: the proxy serves either way.
struct ServiceNotification {
    let notifier: ServiceNotifier?
    let logger: Logger

    init(logger: Logger) {
        self.logger = logger
        do {
            notifier = try ServiceNotifier.fromEnvironment()
        } catch {
            logger.warning("NOTIFY_SOCKET: \(error); the service manager will not be told when turnout is ready")
            notifier = nil
        }
        if let notifier { logger.info("notifying the service manager at \(notifier.socketPath)") }
    }

    func ready(listeners: Int, generation: UInt64) {
        send { (notifier) throws(SystemError) in try notifier.ready(status: "serving \(listeners) listeners; routing table generation \(generation)") }
    }

    func reloading() {
        send { (notifier) throws(SystemError) in try notifier.reloading() }
    }

    func reloaded(_ outcome: ReloadOutcome) {
        send { (notifier) throws(SystemError) in try notifier.ready(status: outcome.summary) }
    }

    func stopping(grace: ConfigDuration) {
        send { (notifier) throws(SystemError) in try notifier.stopping(status: "draining (grace \(grace.milliseconds) ms)") }
    }

    private func send(_ notification: (ServiceNotifier) throws(SystemError) -> Void) {
        guard let notifier else { return }
        do {
            try notification(notifier)
        } catch {
            logger.warning("could not notify the service manager at \(notifier.socketPath): \(error)")
        }
    }
}
