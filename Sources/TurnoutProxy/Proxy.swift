import Glibc
import Logging
import Synchronization
import TurnoutCore
import TurnoutMetrics
import TurnoutPosix
import TurnoutTLS

/// A failure to start the data plane, naming what could not be set up.
public struct ProxyStartError: Error, CustomStringConvertible {
    public let description: String

    public init(description: String) { self.description = description }
}

/// The data plane: worker threads, each with its own epoll loop and its own
/// `SO_REUSEPORT` socket per listener, forwarding to the published routing table.
///
/// Lifecycle: `init` resolves and binds everything and makes every worker's epoll instance
/// and timer (so a bad address, or too few descriptors, fails before any traffic is
/// accepted), `start` spawns the workers, `publish` swaps the routing table at any time
/// from any thread, `shutdown` drains and `wait` joins.
public final class Proxy: Sendable {
    public let publisher: RoutingPublisher
    /// Listener name → the port actually bound (differs from the config for port 0).
    public let boundPorts: [String: UInt16]
    public let workerCount: Int
    private let settings: WorkerSettings
    private let listenerSockets: [[ListenerSocket]]
    private let loops: [WorkerLoop]
    private let control: WorkerControl
    private let logger: Logger
    private let shutdownGrace: UInt64
    private let threads = ThreadList()
    private let events: ProxyEvents
    private let metrics: MetricsRegistry
    /// Each HTTPS listener's certificates in force, by listener name.
    private let certificatePublishers: [String: CertificatePublisher]
    /// The access logs' files and their writer; nil when no listener writes one.
    public let accessLog: AccessLogWriter?
    /// Per worker, per listener index: where its access log lines go.
    private let accessLogs: [[WorkerAccessLog?]]

    /// `tls`: the loaded certificates of each HTTPS listener (`listeners.<name>.tls`), by listener name.
    public init(config: TurnoutConfig, table: RoutingTable, tls: [String: TLSServerConfiguration] = [:],
                metrics: MetricsRegistry = MetricsRegistry(), events: ProxyEvents = ProxyEvents(), logger: Logger) throws {
        self.events = events
        self.metrics = metrics
        let workers = config.workers ?? max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        workerCount = workers
        // The access logs' files open before anything binds: a path that cannot be written refuses the start.
        let accessLog = try Self.openAccessLogs(config, workers: workers, logger: logger)
        self.accessLog = accessLog
        accessLogs = (0..<workers).map { worker in
            config.listeners.map { listener in
                config.accessLog(of: listener).flatMap { log in
                    accessLog?.file(for: log).map { WorkerAccessLog(ring: $0.rings[worker], format: log.format) }
                }
            }
        }
        self.logger = logger
        settings = WorkerSettings(config: config, workers: workers)
        shutdownGrace = config.timeouts.shutdownGrace.nanoseconds
        publisher = RoutingPublisher(table)

        var sockets = Array(repeating: [ListenerSocket](), count: workers)
        var publishers: [String: CertificatePublisher] = [:]
        var ports: [String: UInt16] = [:]
        do {
            for (index, listener) in config.listeners.enumerated() {
                var secure: CertificatePublisher?
                if listener.tls != nil {
                    guard let configuration = tls[listener.name] else {
                        throw ProxyStartError(description: "listeners.\(listener.name).tls: its certificates were not loaded")
                    }
                    secure = CertificatePublisher(configuration)
                    publishers[listener.name] = secure
                }
                var address: SocketAddress
                do {
                    address = try SocketAddress.resolve(host: listener.bind.host, port: listener.bind.port)
                } catch {
                    throw ProxyStartError(description: "listeners.\(listener.name).bind: cannot resolve \(listener.bind): \(error)")
                }
                for worker in 0..<workers {
                    let fd: Int32
                    do {
                        fd = try Socket.listen(on: address, reusePort: true)
                        // Accepted sockets inherit TCP_NODELAY from their listener: one
                        // setsockopt here instead of one per client connection.
                        Socket.setNoDelay(fd)
                    } catch {
                        throw ProxyStartError(description: "listeners.\(listener.name).bind: cannot listen on \(listener.bind): \(error)")
                    }
                    let bound = try Socket.localAddress(fd)
                    // Port 0: the first socket picks the port, the other workers share it.
                    if worker == 0 { address = bound }
                    sockets[worker].append(ListenerSocket(fd: fd, listenerIndex: index, port: bound.port, tls: secure,
                                                          redirectToHTTPSPort: listener.redirectToHTTPSPort ?? 0))
                }
                ports[listener.name] = address.port
            }
        } catch {
            for list in sockets { for socket in list { FileIO.close(socket.fd) } }
            throw error
        }
        var notifiers: [EventNotifier] = []
        var loops: [WorkerLoop] = []
        do {
            for worker in 0..<workers {
                let notifier = try EventNotifier()
                notifiers.append(notifier)
                loops.append(try WorkerLoop(wake: notifier, listeners: sockets[worker]))
            }
        } catch {
            // A worker without its loop would leave its listening sockets taking a share of the
            // connections that nobody accepts: no worker starts.
            for loop in loops { loop.close() }
            for notifier in notifiers { notifier.close() }
            for list in sockets { for socket in list { FileIO.close(socket.fd) } }
            throw ProxyStartError(description: "worker \(loops.count): cannot set up its event loop: \(error)")
        }
        listenerSockets = sockets
        boundPorts = ports
        certificatePublishers = publishers
        self.loops = loops
        control = WorkerControl(notifiers: notifiers)
    }

    private static func openAccessLogs(_ config: TurnoutConfig, workers: Int, logger: Logger) throws -> AccessLogWriter? {
        let configs = config.listeners.compactMap(config.accessLog(of:))
        guard !configs.isEmpty else { return nil }
        do {
            return try AccessLogWriter(configs: configs, workers: workers, logger: logger)
        } catch {
            let key = config.accessLog?.path == error.path ? "access_log.path"
                : config.listeners.first { config.accessLog(of: $0)?.path == error.path }.map { "listeners.\($0.name).access_log.path" }
                ?? "access_log.path"
            throw ProxyStartError(description: "\(key): cannot open \(error.path): \(String(cString: strerror(error.errno)))")
        }
    }

    /// Spawns the worker threads (and the access logs' writer). If one cannot be spawned, none serves: the
    /// workers already running stop, every listening socket closes, and this throws.
    public func start() throws {
        do {
            try accessLog?.start()
        } catch {
            throw ProxyStartError(description: "access log writer: cannot start its thread: \(error)")
        }
        for index in 0..<workerCount {
            let sockets = listenerSockets[index], loop = loops[index]
            let settings = self.settings, publisher = self.publisher, control = self.control, logger = self.logger
            let events = self.events, metrics = self.metrics, accessLogs = self.accessLogs[index]
            do {
                let thread = try PosixThread(name: "turnout-w\(index)") {
                    Worker(index: index, listeners: sockets, loop: loop, settings: settings, publisher: publisher,
                           control: control, events: events, metrics: metrics, accessLogs: accessLogs, logger: logger).run()
                }
                threads.append(thread)
            } catch {
                // The running workers close their listening sockets as they drain; these close now.
                for later in index..<workerCount {
                    for socket in listenerSockets[later] { FileIO.close(socket.fd) }
                    loops[later].close()
                }
                control.drainDeadline.store(MonotonicClock.now(), ordering: .relaxed)
                control.stopping.store(true, ordering: .releasing)
                control.wakeAll()
                wait()
                throw ProxyStartError(description: "worker \(index): cannot start its thread: \(error)")
            }
        }
    }

    /// Makes `table` the routing table for every request routed after this returns;
    /// `routable[group][target]` applies target health (nil: every target routable).
    public func publish(_ table: RoutingTable, routable: [[Bool]]? = nil) {
        publisher.publish(table, routable: routable)
    }

    /// Makes `configuration` the certificates of the HTTPS listener `listener` for every handshake begun after
    /// this returns (each worker builds its contexts again at its next accepted connection); connections already
    /// open keep theirs. A listener that is not HTTPS is left alone.
    public func replaceCertificates(listener: String, with configuration: TLSServerConfiguration) {
        certificatePublishers[listener]?.publish(configuration)
    }

    /// Makes every upstream TLS handshake begun after this returns use client contexts made anew, reading their CA
    /// files again: the routing is republished with the next upstream TLS load, and each worker drops its contexts
    /// when it takes it. Pooled connections keep their sessions.
    public func reloadUpstreamTLS() {
        publisher.reloadUpstreamTLS()
    }

    /// Stops accepting and lets in-flight exchanges finish within the shutdown grace.
    public func shutdown() {
        control.drainDeadline.store(MonotonicClock.now() &+ shutdownGrace, ordering: .relaxed)
        control.stopping.store(true, ordering: .releasing)
        control.wakeAll()
    }

    /// Waits for every worker to finish draining, then for the access logs' last lines.
    public func wait() {
        for thread in threads.all { thread.join() }
        accessLog?.stop()
    }
}

/// The proxy's worker threads, appended at start and joined at shutdown.
final class ThreadList: Sendable {
    private let threads = Mutex<[PosixThread]>([])

    func append(_ thread: PosixThread) { threads.withLock { $0.append(thread) } }

    var all: [PosixThread] { threads.withLock { $0 } }
}
