import Logging
import Synchronization
import TurnoutCore
import TurnoutHTTP1
import TurnoutMetrics
import TurnoutPosix
import TurnoutTLS

/// State shared between the proxy façade and its workers: the stop request and
/// each worker's wake-up descriptor.
final class WorkerControl: Sendable {
    let stopping = Atomic<Bool>(false)
    /// Monotonic deadline by which a draining worker closes what is left.
    let drainDeadline = Atomic<UInt64>(0)
    let notifiers: [EventNotifier]

    init(notifiers: [EventNotifier]) { self.notifiers = notifiers }

    func wakeAll() { for notifier in notifiers { notifier.signal() } }
}

/// One data-plane thread: an epoll loop owning its listening sockets, its client and
/// upstream connections and their pools. Nothing here is shared with other threads
/// except the published routing table and the control flags.
final class Worker {
    let index: Int
    let epoll: Epoll
    let wake: EventNotifier
    let tick: PeriodicTimer
    let listeners: [ListenerSocket]
    let settings: WorkerSettings
    let publisher: RoutingPublisher
    let control: WorkerControl
    let events: ProxyEvents
    let metrics: MetricsRegistry
    /// Per listener index: this worker's counters for proxy errors, retries, connections.
    let listenerCounters: [ListenerCounters]
    /// Per listener index: this worker's TLS contexts of an HTTPS listener, and the version of the certificates
    /// they were built from (see `Worker+TLS`).
    var tlsContexts: [TLSServerContext?] = []
    /// The worker's own OpenSSL library context, which its server and client contexts fetch from.
    lazy var openSSL = OpenSSLLibraryContext()
    var tlsVersions: [UInt64] = []
    /// Per listener index: where its access log lines go (nil: it writes none), and its name for them.
    let accessLogs: [WorkerAccessLog?]
    let listenerNames: [String]
    /// The access log's line formatter (its time text made once a second) and its scratch line.
    var accessLine = AccessLogLine()
    let accessScratch: UnsafeMutableRawBufferPointer
    var logger: Logger

    var clients: [ClientConnection?] = []
    var freeClientSlots: [Int] = []
    var spareClients = IdleList<ClientConnection>(limit: 1024, reserve: 64)
    var spareUpstreams = IdleList<UpstreamConnection>(limit: 1024, reserve: 64)
    var clientCount = 0
    var upstreams: [UpstreamConnection?] = []
    var freeUpstreamSlots: [Int] = []
    var upstreamGenerations: [UInt32] = []
    var clientGenerations: [UInt32] = []

    /// The clock, the pools and the scratch space the connections' state machines borrow.
    let environment: ConnectionEnvironment
    var routing: WorkerRouting
    /// Splice relays whose pipes are empty, for the next spliced body.
    var spareRelays: [SpliceRelay] = []
    /// Bytes the connection being driven may still splice in this turn (see `drive`).
    var turnBudget = 0
    /// Client connections that spent their turn's budget with readiness left: edge-triggered
    /// epoll will not report them again, so the loop drives them once more after each batch.
    var owedTurns: [EventToken] = []
    /// The batch of owed turns being served (swapped with `owedTurns`, so neither allocates).
    var servingTurns: [EventToken] = []
    /// Listeners reported ready in the batch being handled, accepted from after its other events.
    var readyListeners: [Int] = []
    var acceptPaused = false
    /// Nonzero while the listeners are paused for lack of descriptors: when the tick tries them again.
    var acceptRetryAt: UInt64 = 0
    /// Failures for lack of descriptors or memory, for the log (see `Worker+ResourceShortage`).
    var resourceShortage = IntervalReport(intervalNanoseconds: Worker.resourceShortageLogInterval)
    /// Copies of mirrored requests: `mirrorCopies[slot]` made at first use, the slots free now, the budget they
    /// hold, and the sampling that chooses them (see `Worker+Mirror`).
    var mirrorCopies: [MirrorCopy?]
    var freeMirrorSlots: [Int]
    var mirrorBudget = MirrorBudget()
    var mirrorSampler: MirrorSampler
    /// Ticks so far, for work done every few ticks.
    var ticks = 0
    /// Bytes the buffer pool freed since the heap last gave free pages back to the kernel.
    var freedSinceHeapTrim = 0

    init(index: Int, listeners: [ListenerSocket], loop: WorkerLoop, settings: WorkerSettings, publisher: RoutingPublisher,
         control: WorkerControl, events: ProxyEvents, metrics: MetricsRegistry, accessLogs: [WorkerAccessLog?], logger: Logger) {
        self.index = index
        self.listeners = listeners
        self.settings = settings
        self.publisher = publisher
        self.control = control
        self.events = events
        self.metrics = metrics
        listenerCounters = publisher.table.listeners.map { metrics.listenerCounters(listener: $0.name) }
        listenerNames = publisher.table.listeners.map(\.name)
        self.accessLogs = accessLogs
        accessScratch = accessLogs.contains { $0 != nil }
            ? UnsafeMutableRawBufferPointer.allocate(byteCount: AccessLogLine.capacity, alignment: 8)
            : UnsafeMutableRawBufferPointer(start: nil, count: 0)
        self.logger = logger
        self.logger[metadataKey: "worker"] = .stringConvertible(index)
        epoll = loop.epoll
        wake = control.notifiers[index]
        tick = loop.tick
        environment = ConnectionEnvironment(settings: settings, now: MonotonicClock.now())
        routing = WorkerRouting(routing: publisher.routing)
        mirrorCopies = Array(repeating: nil, count: mirrorBudget.maxInFlight)
        freeMirrorSlots = Array((0..<mirrorBudget.maxInFlight).reversed())
        mirrorSampler = MirrorSampler(seed: MonotonicClock.now() &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(index))
        clients.reserveCapacity(settings.maxConnections)
        owedTurns.reserveCapacity(1024)
        servingTurns.reserveCapacity(1024)
        readyListeners.reserveCapacity(listeners.count)
        routing.refresh(from: publisher.routing, worker: self)
        // Built now rather than at the first connection: a handshake should not wait for certificates to load.
        for listener in listeners { _ = tlsContext(for: listener) }
    }

    deinit { accessScratch.deallocate() }

    /// Runs the loop until a drain completes.
    func run() {
        while true {
            // With turns owed, only look for new events: never sleep while work is waiting.
            let count = epoll.wait(timeoutMilliseconds: owedTurns.isEmpty ? -1 : 0)
            now = MonotonicClock.now()
            for i in 0..<count {
                let token = EventToken(raw: epoll.tokens[i])
                let events = EpollEvents(rawValue: epoll.events[i])
                switch token.kind {
                case .client?: clientEvent(slot: token.slot, generation: token.generation, events: events)
                case .upstream?: upstreamEvent(slot: token.slot, generation: token.generation, events: events)
                case .mirror?: mirrorEvent(slot: token.slot, generation: token.generation, events: events)
                case .listener?: readyListeners.append(token.slot)
                case .tick?:
                    tick.drain()
                    expireDeadlines()
                case .wake?:
                    wake.drain()
                    if control.stopping.load(ordering: .acquiring) && !draining { beginDrain() }
                case nil: break
                }
            }
            if !owedTurns.isEmpty { serveOwedTurns() }
            if !readyListeners.isEmpty { acceptOnReadyListeners() }
            if draining && finishDrainIfDone() { return }
        }
    }

    /// Drives, once more, each connection that was cut short by its budget before this
    /// batch; those cut short again wait for the next batch, after new events are read.
    private func serveOwedTurns() {
        swap(&owedTurns, &servingTurns)
        for token in servingTurns {
            guard token.slot < clients.count, let client = clients[token.slot],
                  client.slotGeneration == token.generation else { continue }
            drive(client)
        }
        servingTurns.removeAll(keepingCapacity: true)
    }

    /// The worker's clock, read once per batch of events.
    var now: UInt64 {
        get { environment.now }
        set { environment.now = newValue }
    }

    var pool: BufferPool { environment.pool }

    var draining: Bool {
        get { environment.draining }
        set { environment.draining = newValue }
    }

    var spliceEnabled: Bool {
        get { environment.spliceEnabled }
        set { environment.spliceEnabled = newValue }
    }

    private func clientEvent(slot: Int, generation: UInt32, events: EpollEvents) {
        guard slot < clients.count, let client = clients[slot], client.slotGeneration == generation else { return }
        if events.contains(.readable) || events.contains(.readHangUp) || events.contains(.hangUp) || events.contains(.error) {
            client.machine.readable = true
        }
        if events.contains(.readHangUp) || events.contains(.hangUp) || events.contains(.error) { client.hangUpSignalled = true }
        if events.contains(.writable) || events.contains(.error) || events.contains(.hangUp) { client.machine.writable = true }
        if let tls = client.tls {
            crossReadiness(tls, client, readable: events.contains(.readable), writable: events.contains(.writable))
        }
        drive(client)
    }

    private func upstreamEvent(slot: Int, generation: UInt32, events: EpollEvents) {
        guard slot < upstreams.count, let upstream = upstreams[slot], upstream.slotGeneration == generation else { return }
        if events.contains(.readable) || events.contains(.readHangUp) || events.contains(.hangUp) || events.contains(.error) {
            upstream.readable = true
        }
        if events.contains(.readHangUp) || events.contains(.hangUp) || events.contains(.error) { upstream.hangUpSignalled = true }
        if events.contains(.writable) || events.contains(.error) || events.contains(.hangUp) { upstream.writable = true }
        if let tls = upstream.tls {
            if events.contains(.writable) && tls.readWantsWrite { upstream.readable = true }
            if events.contains(.readable) && tls.writeWantsRead { upstream.writable = true }
        }
        if let client = upstream.client {
            if !upstream.connected && (upstream.writable || upstream.handshaking && upstream.readable) {
                finishConnect(upstream, for: client)
            } else {
                drive(client)
            }
        } else if events.contains(.readable) || events.contains(.readHangUp) || events.contains(.hangUp)
                    || events.contains(.error) {
            // A pooled connection has nothing to say; input means it closed or broke.
            closePooled(upstream)
        }
    }
}
