import Glibc
import TurnoutHTTP1
import TurnoutMetrics
import TurnoutPosix

/// A client connection's life as a state machine: what exists in each state is in that state's case, and every
/// transition is a `mutating` event that returns what the worker must do next (`ClientAction`). The machine
/// parses heads and moves bytes between buffers; it makes no system call, so every transition is testable
/// without sockets (`ClientStateMachineTests`). One request/response exchange at a time: pipelined requests wait
/// in the input buffer.
///
/// The states, their transitions and the tests that cover each are tabled in ARCHITECTURE.md ("A client
/// connection's states"). Every state can close (`close`) and has a deadline (`timedOut`).
///
/// The cases carry classes and plain values, a reference or two each, so that the state stays small: taking it
/// out and putting it back on every event costs a few moves, and at worst a retain and a release per reference.
struct ClientStateMachine {
    enum State {
        /// Keep-alive, nothing buffered: the connection holds no buffers.
        case idle
        /// Request head bytes are arriving.
        case readingHead(ClientBuffers)
        /// A complete request waits for the worker to pick a target and attach an upstream connection; a retry
        /// avoids `excluding` unless `orExcluded` allows it as the last resort.
        case routing(Exchange, excluding: TargetState?, orExcluded: Bool)
        /// The new upstream connection is being established.
        case connecting(Exchange, UpstreamLink)
        /// Request and response flow between the client and the upstream.
        case exchanging(Exchange, UpstreamLink)
        /// Upgraded (101): bytes both ways, unchanged.
        case tunnel(Tunnel)
        /// A listener rule's own answer (a fixed response, a redirect) is flushing; then the connection reads its
        /// next request.
        case answering(ClientBuffers)
        /// A final response is flushing; then the connection closes, at once or after lingering.
        case closing(ClientBuffers, linger: Bool)
        /// Our side is shut down: input is read and discarded until the client closes or the deadline.
        case lingering(ClientBuffers)
        /// Closed (the object waits for its next connection).
        case closed
        /// A transition is under way: its parts are out of the state (see `take`). Never seen outside one.
        case modifying
    }

    /// Written only by the transitions (here and in the `ClientStateMachine+` files); read by anyone.
    var state: State
    /// Monotonic nanoseconds at which the current state times out (see `timedOut`).
    var deadline: UInt64
    /// The client socket's readiness (edge-triggered): set by epoll events, cleared when a call finds none.
    var readable = false
    var writable = true
    /// The client's address as text, for X-Forwarded-For.
    let peerAddress: UnsafeRawBufferPointer
    /// The port the client connected to, for X-Forwarded-Port.
    let listenerPort: UInt16
    /// The client speaks TLS (the worker reads and writes through its session): requests are forwarded as
    /// `https`, and bodies and tunnels are copied, never spliced, since the bytes on the socket are not the
    /// ones to forward.
    let secure: Bool
    /// Nonzero on a plain listener with `redirect_to_https`: every request is answered with a 301 to HTTPS on
    /// this port, and nothing is routed.
    let redirectToHTTPSPort: UInt16
    /// What transitions let go of and the worker has yet to take (`takeReleased`).
    private(set) var released = Released()
    /// The failure the last `.failed` or `.close` reports, for the worker to take (`takeReport`).
    private(set) var report: FailureReport?
    /// Whether the listener writes an access log: each exchange copies what its line shows, and the request just
    /// answered waits in `access` for the worker (`takeAccess`).
    let recordsAccess: Bool
    private(set) var access: AccessFacts?

    /// Interim (1xx) responses relayed for one request before the exchange fails with a 502: room for a 100
    /// Continue and a few 103 Early Hints, not for an upstream that never gets to the point.
    static let maxInterimResponses = 10

    /// A connection just accepted: idle, with the header timeout running for its first request; a `secure` one
    /// with the TLS handshake's, until the worker reports the handshake done (`handshakeCompleted`).
    init(peerAddress: UnsafeRawBufferPointer, listenerPort: UInt16, secure: Bool = false,
         redirectToHTTPSPort: UInt16 = 0, now: UInt64, settings: WorkerSettings, recordsAccess: Bool = false) {
        state = .idle
        deadline = now &+ (secure ? settings.tlsHandshakeTimeout : settings.clientHeaderTimeout)
        self.peerAddress = peerAddress
        self.listenerPort = listenerPort
        self.secure = secure
        self.redirectToHTTPSPort = redirectToHTTPSPort
        self.recordsAccess = recordsAccess
    }

    /// A machine with no connection.
    init() {
        state = .closed
        deadline = .max
        peerAddress = UnsafeRawBufferPointer(start: nil, count: 0)
        listenerPort = 0
        secure = false
        redirectToHTTPSPort = 0
        recordsAccess = false
    }

    /// The target of the exchange or tunnel in progress, if any (its drain may close the connection).
    var target: TargetState? {
        switch state {
        case .connecting(_, let link), .exchanging(_, let link): return link.target
        case .tunnel(let tunnel): return tunnel.link.target
        case .idle, .readingHead, .routing, .answering, .closing, .lingering, .closed, .modifying: return nil
        }
    }

    /// The link of the upstream connection being established, while connecting.
    var connectingLink: UpstreamLink? {
        if case .connecting(_, let link) = state { return link }
        return nil
    }

    var isTunnel: Bool {
        if case .tunnel = state { return true }
        return false
    }

    /// The state's name, for log lines and tests.
    var stateName: StaticString {
        switch state {
        case .idle: return "idle"
        case .readingHead: return "readingHead"
        case .routing: return "routing"
        case .connecting: return "connecting"
        case .exchanging: return "exchanging"
        case .tunnel: return "tunnel"
        case .answering: return "answering"
        case .closing: return "closing"
        case .lingering: return "lingering"
        case .closed: return "closed"
        case .modifying: return "modifying"
        }
    }

    /// Takes the state out for a transition, leaving `.modifying`: its references move rather than being copied.
    /// The transition puts back the state it leads to before it returns.
    @inline(__always)
    mutating func take() -> State {
        var taken = State.modifying
        swap(&taken, &state)
        return taken
    }

    /// True only within a transition (the worker and the tests check that none leaves it behind).
    var isModifying: Bool {
        if case .modifying = state { return true }
        return false
    }

    // MARK: - Events

    /// The TLS handshake of a `secure` connection is done: the header timeout runs for its first request, and
    /// the first read is tried (the request may have come with the handshake's last flight, already decrypted
    /// inside the session).
    mutating func handshakeCompleted(_ env: ConnectionEnvironment) {
        deadline = env.now &+ env.settings.clientHeaderTimeout
        readable = true
    }

    /// What to do next: after readiness changed, and after an action that reports nothing.
    @inline(never)  // an event: its own frame, where `take` moves the state (inlined, it copied)
    mutating func next(_ env: ConnectionEnvironment) -> ClientAction {
        if case .exchanging(let exchange, let link) = state { return exchangeNext(exchange, link, env) }
        let current = take()
        switch consume current {
        case .idle:
            // Buffers are borrowed only once bytes are waiting.
            guard readable else {
                state = .idle
                return .wait
            }
            return readHead(env.pool.takeClientBuffers(), env)
        case .readingHead(let buffers):
            return readHead(buffers, env)
        case .routing(let exchange, let excluding, let orExcluded):
            let action = ClientAction.route(excluding: excluding.map(Lent.init), orExcluded: orExcluded,
                                            isRetry: exchange.attempts > 0)
            state = .routing(exchange, excluding: excluding, orExcluded: orExcluded)
            return action
        case .connecting(let exchange, let link):
            guard link.connection.connected else {
                state = .connecting(exchange, link)
                return .wait
            }
            return sendRequestHead(exchange, link, env)
        case .exchanging(let exchange, let link):
            return exchangeNext(exchange, link, env)
        case .tunnel(let tunnel):
            return tunnelNext(tunnel, env)
        case .answering(let buffers):
            return answeringNext(buffers, env)
        case .closing(let buffers, let linger):
            return closingNext(buffers, linger: linger)
        case .lingering(let buffers):
            return lingeringNext(buffers)
        case .closed:
            state = .closed
            return .wait
        case .modifying:
            preconditionFailure("next during a transition")
        }
    }

    /// The outcome of `.readClient`.
    @inline(never)  // an event: its own frame, where `take` moves the state (inlined, it copied)
    mutating func clientRead(_ result: IOResult, _ env: ConnectionEnvironment) -> ClientAction {
        if case .wouldBlock = result { readable = false }
        if case .exchanging(let exchange, let link) = state { return requestBodyRead(result, exchange, link, env) }
        let current = take()
        switch consume current {
        case .readingHead(let buffers):
            return headRead(result, buffers, env)
        case .exchanging(let exchange, let link):
            return requestBodyRead(result, exchange, link, env)
        case .tunnel(let tunnel):
            return tunnelRead(result, leg: .tunnelUpward, tunnel, env)
        case .lingering(let buffers):
            switch result {
            case .bytes:
                return lingeringNext(buffers)  // discarded
            case .wouldBlock:
                state = .lingering(buffers)
                return .wait
            case .endOfFile, .failed:
                state = .lingering(buffers)
                return .close(abort: false)
            }
        case let other:
            state = other
            preconditionFailure("client read reported in state \(stateName)")
        }
    }

    /// The outcome of `.writeClient`.
    @inline(never)  // an event: its own frame, where `take` moves the state (inlined, it copied)
    mutating func clientWritten(_ result: IOResult, _ env: ConnectionEnvironment) -> ClientAction {
        if case .wouldBlock = result { writable = false }
        if case .exchanging(let exchange, let link) = state { return responseWritten(result, exchange, link, env) }
        let current = take()
        switch consume current {
        case .tunnel(let tunnel):
            return tunnelWritten(result, leg: .tunnelDownward, tunnel, env)
        case .answering(let buffers):
            switch result {
            case .bytes(let n):
                buffers.output.consume(n)
                return answeringNext(buffers, env)
            case .wouldBlock:
                state = .answering(buffers)
                return .wait
            case .endOfFile, .failed:
                state = .answering(buffers)
                return .close(abort: false)
            }
        case .closing(let buffers, let linger):
            switch result {
            case .bytes(let n):
                buffers.output.consume(n)
                return closingNext(buffers, linger: linger)
            case .wouldBlock:
                state = .closing(buffers, linger: linger)
                return .wait
            case .endOfFile, .failed:
                state = .closing(buffers, linger: linger)
                return .close(abort: false)
            }
        case let other:
            state = other
            preconditionFailure("client write reported in state \(stateName)")
        }
    }

    /// The outcome of `.readUpstream`.
    @inline(never)  // an event: its own frame, where `take` moves the state (inlined, it copied)
    mutating func upstreamRead(_ result: IOResult, _ env: ConnectionEnvironment) -> ClientAction {
        if case .exchanging(let exchange, let link) = state {
            noteRead(result, by: link)
            return responseRead(result, exchange, link, env)
        }
        let current = take()
        switch consume current {
        case .tunnel(let tunnel):
            noteRead(result, by: tunnel.link)
            return tunnelRead(result, leg: .tunnelDownward, tunnel, env)
        case let other:
            state = other
            preconditionFailure("upstream read reported in state \(stateName)")
        }
    }

    /// The outcome of `.writeUpstream`.
    @inline(never)  // an event: its own frame, where `take` moves the state (inlined, it copied)
    mutating func upstreamWritten(_ result: IOResult, _ env: ConnectionEnvironment) -> ClientAction {
        if case .exchanging(let exchange, let link) = state {
            if case .wouldBlock = result { link.connection.writable = false }
            return requestWritten(result, exchange, link, env)
        }
        let current = take()
        switch consume current {
        case .tunnel(let tunnel):
            if case .wouldBlock = result { tunnel.link.connection.writable = false }
            return tunnelWritten(result, leg: .tunnelUpward, tunnel, env)
        case let other:
            state = other
            preconditionFailure("upstream write reported in state \(stateName)")
        }
    }

    /// The most plaintext a TLS record carries (RFC 8446 §5.1).
    static let tlsRecordPayload = 16_384

    /// Where the next read from the upstream lands: `input`'s free tail; for a `secure` connection at most a
    /// record's worth of it, so that what is passed on goes out in whole records, one write each (a 20 KiB read
    /// went out as a 16 KiB and a 4 KiB record: two writes and a record more per 20 KiB).
    @inline(__always)
    func upstreamReadRegion(_ input: IOBuffer) -> UnsafeMutableRawBufferPointer {
        secure ? input.tail(upTo: Self.tlsRecordPayload) : input.tail
    }

    /// Keeps the upstream's readiness after a read into `link.input`'s tail (not yet counted in it): a read that
    /// returns fewer bytes than asked drained the socket, so the next byte raises a new edge; readiness ends there
    /// rather than after a second read for the EAGAIN. Not after a hang-up, though: the end of file is to be read.
    private func noteRead(_ result: IOResult, by link: UpstreamLink) {
        switch result {
        case .bytes(let n):
            // Over TLS a short read may leave whole records in the session: the session says whether it drained.
            let drained = link.connection.tls.map { $0.drained } ?? (n < upstreamReadRegion(link.input).count)
            if drained && !link.connection.hangUpSignalled { link.connection.readable = false }
        case .wouldBlock:
            link.connection.readable = false
        case .endOfFile, .failed:
            break
        }
    }

    /// The deadline passed: the action its state calls for.
    @inline(never)  // an event: its own frame, where `take` moves the state (inlined, it copied)
    mutating func timedOut(_ env: ConnectionEnvironment) -> ClientAction {
        let current = take()
        switch consume current {
        case .readingHead(let buffers) where !buffers.input.isEmpty:
            // A request under way gets its 408; a connection that sent nothing just closes.
            return respond(408, .requestHeadTimedOut, buffers, env)
        case .connecting(let exchange, let link):
            return connectFailed(exchange, link, errno: ETIMEDOUT, env)
        case .exchanging(let exchange, let link) where !exchange.responseStarted:
            return respond(504, .upstreamResponseTimedOut(Lent(link.target)), exchange, link, env)
        case .exchanging(let exchange, let link):
            state = .exchanging(exchange, link)
            return closing(abort: true, .transferStalled)
        case .routing(let exchange, let excluding, let orExcluded):
            state = .routing(exchange, excluding: excluding, orExcluded: orExcluded)
            return .wait  // routing never outlives the worker's turn
        case .closed:
            state = .closed
            return .wait
        case .modifying:
            preconditionFailure("timeout during a transition")
        case let other:  // idle, a head not begun, a tunnel, an answer the client does not take, closing
            state = other
            return .close(abort: false)
        }
    }

    /// The worker drains: true when the connection may close now (no request is under way); otherwise the
    /// exchange in progress closes the connection after its response.
    func drain() -> Bool {
        switch state {
        case .idle:
            return true
        case .readingHead(let buffers):
            return buffers.input.isEmpty
        case .routing(let exchange, _, _), .connecting(let exchange, _), .exchanging(let exchange, _):
            exchange.closeAfterResponse = true
            return false
        case .answering, .tunnel, .closing, .lingering, .closed, .modifying:
            return false
        }
    }

    /// The connection closes: buffers and the exchange record go back to the pool, and the upstream connection and
    /// relays are handed to the worker.
    @inline(never)  // an event: its own frame, where `take` moves the state (inlined, it copied)
    mutating func close(_ env: ConnectionEnvironment) -> Released {
        let current = take()
        switch consume current {
        case .idle, .closed:
            break
        case .readingHead(let buffers), .answering(let buffers), .closing(let buffers, _), .lingering(let buffers):
            env.pool.give(buffers)
        case .routing(let exchange, _, _):
            release(nil, exchange.relays)
            env.pool.give(exchange.buffers)
            env.pool.give(exchange)
        case .connecting(let exchange, let link), .exchanging(let exchange, let link):
            release(link, exchange.relays)
            env.pool.give(exchange.buffers)
            env.pool.give(exchange)
        case .tunnel(let tunnel):
            release(tunnel.link, Relays(first: tunnel.upward.relay, second: tunnel.downward.relay))
            env.pool.give(tunnel.buffers)
            env.pool.give(tunnel)
        case .modifying:
            preconditionFailure("close during a transition")
        }
        state = .closed
        deadline = .max
        return takeReleased()
    }

    /// Takes what transitions let go of (an upstream connection with its buffers, relays) for the worker to close
    /// or pool: after `.finishExchange`, `.failed` and `.releaseRelay`, and from `close`.
    mutating func takeReleased() -> Released {
        var taken = Released()
        swap(&taken, &released)
        return taken
    }

    /// Puts `link` and `relays` in the outbox.
    mutating func release(_ link: UpstreamLink?, _ relays: Relays = Relays()) {
        if let link { released.upstream = link }
        if let relay = relays.first { released.relays.add(relay) }
        if let relay = relays.second { released.relays.add(relay) }
    }

    /// Takes the failure the last `.failed` or `.close` reports.
    mutating func takeReport() -> FailureReport? {
        defer { report = nil }
        return report
    }

    /// The request just answered, for the access log (set only when `recordsAccess`).
    mutating func takeAccess() -> AccessFacts? {
        defer { access = nil }
        return access
    }

    /// Keeps what the access log records of `exchange`, answered with `status` (`bytesOut` bytes of it written, or
    /// to be written for a canned answer), when the listener writes one.
    mutating func noteAccess(_ exchange: Exchange, status: UInt16, bytesOut: Int, _ env: ConnectionEnvironment) {
        guard recordsAccess else { return }
        let head = exchange.responseHeadAt
        access = AccessFacts(
            status: status, duration: env.now &- exchange.requestStart,
            upstreamDuration: head == 0 ? nil : head &- exchange.attemptStart,
            bytesIn: exchange.request.headLength + exchange.requestBodyBytes, bytesOut: bytesOut,
            retried: exchange.attempts > 1, route: exchange.routeCounters.map(Lent.init),
            rule: exchange.ruleCounters.map(Lent.init), exchange: Lent(exchange))
    }

    /// Keeps what the access log records of a canned answer to a request whose head was being read (no exchange
    /// yet), when the listener writes one.
    mutating func noteAccess(status: UInt16, bytesOut: Int) {
        guard recordsAccess else { return }
        access = AccessFacts(status: status, duration: 0, upstreamDuration: nil, bytesIn: 0, bytesOut: bytesOut,
                             retried: false, route: nil, exchange: nil)
    }

    /// Reports `failure` (the client answered with `answer`, if any, for the request routed on `route`) for
    /// `.failed`.
    mutating func failing(_ failure: ConnectionFailure, answer: UInt16?, route: RouteCounters? = nil) -> ClientAction {
        report = FailureReport(failure: failure, answer: answer, route: route)
        return .failed
    }

    /// `.close`, reporting `failure` (the client was to be answered with `proxyError`, for the request routed on
    /// `route`), if any.
    mutating func closing(abort: Bool, _ failure: ConnectionFailure? = nil, proxyError: UInt16? = nil,
                          route: RouteCounters? = nil, flushing: UnsafeRawBufferPointer? = nil) -> ClientAction {
        if let failure { report = FailureReport(failure: failure, answer: proxyError, route: route) }
        return .close(abort: abort, flushing: flushing)
    }

    /// Puts `relay` in the outbox and asks the worker to take it.
    mutating func releasing(_ relay: SpliceRelay) -> ClientAction {
        released.relays.add(relay)
        return .releaseRelay
    }

    // MARK: - Reading a head

    mutating func readHead(_ buffers: ClientBuffers, _ env: ConnectionEnvironment) -> ClientAction {
        let input = buffers.input
        if !input.isEmpty {
            switch RequestHeadParser.parse(input.pending, limits: env.settings.limits, fields: buffers.fields) {
            case .complete(let head):
                return startExchange(buffers, head, env)
            case .failed(let error):
                return respond(error.status, .malformedRequest(error), buffers, env)
            case .incomplete:
                break
            }
        }
        guard readable else {
            if input.isEmpty {
                goIdle(buffers, env)
            } else {
                state = .readingHead(buffers)
            }
            return .wait
        }
        if input.freeSpace == 0 { input.compact() }
        state = .readingHead(buffers)
        return .readClient(input.tail)
    }

    private mutating func headRead(_ result: IOResult, _ buffers: ClientBuffers,
                                   _ env: ConnectionEnvironment) -> ClientAction {
        let input = buffers.input
        switch result {
        case .bytes(let n):
            // The header timeout runs from the first byte of a request.
            if input.isEmpty { deadline = env.now &+ env.settings.clientHeaderTimeout }
            input.writeIndex += n
            return readHead(buffers, env)
        case .wouldBlock:
            if input.isEmpty {
                goIdle(buffers, env)
            } else {
                state = .readingHead(buffers)
            }
            return .wait
        case .endOfFile, .failed:
            state = .readingHead(buffers)
            return .close(abort: false)
        }
    }

    /// Parks a keep-alive connection with nothing buffered: its buffers go back to the pool.
    mutating func goIdle(_ buffers: ClientBuffers, _ env: ConnectionEnvironment) {
        env.pool.give(buffers)
        state = .idle
        deadline = env.now &+ env.settings.clientIdleTimeout
    }

    /// A complete request head: an exchange begins, and the worker routes it.
    private mutating func startExchange(_ buffers: ClientBuffers, _ head: RequestHead,
                                        _ env: ConnectionEnvironment) -> ClientAction {
        if redirectToHTTPSPort != 0 { return redirectToHTTPS(buffers, head, env) }
        let exchange = env.pool.takeExchange(buffers: buffers)
        exchange.begin(head, bodyStart: buffers.input.readIndex + head.headLength, now: env.now,
                       closeAfterResponse: !head.keepAlive || env.draining)
        if recordsAccess { exchange.logText.capture(head, source: buffers.input.pending, fields: buffers.fields) }
        state = .routing(exchange, excluding: nil, orExcluded: false)
        return .route(excluding: nil, orExcluded: false, isRetry: false)
    }

    /// Answers a complete request with a 301 to HTTPS and closes after it (lingering: a body may follow the head).
    private mutating func redirectToHTTPS(_ buffers: ClientBuffers, _ head: RequestHead,
                                          _ env: ConnectionEnvironment) -> ClientAction {
        let input = buffers.input, output = buffers.output
        output.compact()
        guard let written = HTTPSRedirect.write(head, source: input.bytes(from: input.readIndex), port: redirectToHTTPSPort,
                                                into: output.tail) else {
            return respond(400, .malformedRequest(HeadError(status: 400, reason: "no host to redirect to HTTPS")), buffers, env)
        }
        output.writeIndex += written
        beginClosing(buffers, linger: true, env)
        return closingNext(buffers, linger: true)
    }
}
