import XCTest
@testable import TurnoutProxy
import TurnoutCore
import TurnoutHTTP1
import TurnoutMetrics
import TurnoutPosix

/// A client connection's state machine with what a worker lends it, and the worker's part played by hand: bytes
/// are put into the buffers a read would fill, each action asked for is checked, and its outcome reported. No
/// sockets: upstream connections are objects without descriptors, relays are never pumped.
final class MachineHarness {
    static let clientHeaderTimeout: UInt64 = 3_000_000_000
    static let clientIdleTimeout: UInt64 = 4_000_000_000
    static let connectTimeout: UInt64 = 2_000_000_000
    static let lingerTimeout: UInt64 = 1_000_000_000
    static let tlsHandshakeTimeout: UInt64 = 5_000_000_000
    /// The routed group's `upstream_response` (the top-level one is 15 s).
    static let responseTimeout: UInt64 = 7_000_000_000

    static let settings: WorkerSettings = {
        let timeouts = Timeouts(connect: .seconds(2), clientHeader: .seconds(3), clientIdle: .seconds(4),
                                upstreamResponse: .seconds(15), tlsHandshake: .seconds(5))
        return WorkerSettings(config: TurnoutConfig(listeners: [], targetGroups: [], timeouts: timeouts), workers: 1)
    }()

    let env: ConnectionEnvironment
    var machine: ClientStateMachine
    /// The last action the machine asked for (every transition must have put its state back by then).
    var action = ClientAction.wait {
        didSet { XCTAssertFalse(machine.isModifying, "a transition left its state out: \(summary)") }
    }
    /// What the worker would have done besides moving bytes, in order (`proceed`).
    var carriedOut: [String] = []
    /// Upstream connections routed to, in order.
    var upstreams: [UpstreamConnection] = []
    private let peer: UnsafeMutableRawBufferPointer
    private let registry = MetricsRegistry()
    private var pipes: [TurnoutPosix.Pipe] = []

    /// `secure`: the client's connection is an HTTPS listener's (the worker's TLS session under it).
    /// `redirectToHTTPSPort`: the listener answers every request with a redirect to HTTPS on that port.
    init(spliceEnabled: Bool = false, secure: Bool = false, redirectToHTTPSPort: UInt16 = 0) {
        env = ConnectionEnvironment(settings: Self.settings, now: 1_000_000_000)
        env.spliceEnabled = spliceEnabled
        let address = Array("192.0.2.7".utf8)
        peer = UnsafeMutableRawBufferPointer.allocate(byteCount: address.count, alignment: 1)
        peer.copyBytes(from: address)
        machine = ClientStateMachine(peerAddress: UnsafeRawBufferPointer(peer), listenerPort: secure ? 8443 : 8080,
                                     secure: secure, redirectToHTTPSPort: redirectToHTTPSPort, now: env.now,
                                     settings: Self.settings)
    }

    deinit {
        peer.deallocate()
        for pipe in pipes { pipe.close() }
    }

    var now: UInt64 { env.now }
    var state: String { "\(machine.stateName)" }

    func advance(by nanoseconds: UInt64) { env.now += nanoseconds }

    /// A target on loopback `port` (nothing listens: no connection is ever made).
    static func target(port: UInt16 = 3000) -> TargetState {
        let key = HostPort(host: "127.0.0.1", port: port)
        return TargetState(key: key, address: SocketAddress.numeric(host: "127.0.0.1", port: port)!, authority: key,
                           failureRun: TargetFailureRun())
    }

    func counters(for target: TargetState) -> RouteCounters {
        registry.routeCounters(listener: "production", group: "blue", target: target.key.description)
    }

    /// A relay whose pipe is never used.
    func relay() -> SpliceRelay {
        let pipe = try! TurnoutPosix.Pipe()
        pipes.append(pipe)
        return SpliceRelay(pipe: pipe, capacity: 256 * 1024)
    }

    // MARK: - Driving

    /// The worker's `drive` after a readiness event.
    func next() { action = machine.next(env) }

    /// The client's bytes arrive for `.readClient`; `more`: the socket still has bytes after them.
    func clientSends(_ text: String, more: Bool = false, file: StaticString = #filePath, line: UInt = #line) {
        guard case .readClient(let region) = action else {
            return XCTFail("expected readClient, got \(summary)", file: file, line: line)
        }
        let bytes = Array(text.utf8)
        XCTAssertLessThanOrEqual(bytes.count, region.count, "the read's buffer is too small", file: file, line: line)
        bytes.withUnsafeBytes { region.copyMemory(from: $0) }
        machine.readable = more
        action = machine.clientRead(.bytes(bytes.count), env)
    }

    /// `.readClient` finds nothing (EAGAIN), or the end of file, or an error.
    func clientRead(_ result: IOResult, file: StaticString = #filePath, line: UInt = #line) {
        guard case .readClient = action else {
            return XCTFail("expected readClient, got \(summary)", file: file, line: line)
        }
        action = machine.clientRead(result, env)
    }

    /// The client takes (at most `limit` of) what `.writeClient` sends, which is returned.
    @discardableResult
    func clientTakes(limit: Int = .max, file: StaticString = #filePath, line: UInt = #line) -> String {
        guard case .writeClient(let region) = action else {
            XCTFail("expected writeClient, got \(summary)", file: file, line: line)
            return ""
        }
        let count = min(limit, region.count)
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: region[0..<count]), as: UTF8.self)
        action = machine.clientWritten(.bytes(count), env)
        return text
    }

    func clientWrite(_ result: IOResult, file: StaticString = #filePath, line: UInt = #line) {
        guard case .writeClient = action else {
            return XCTFail("expected writeClient, got \(summary)", file: file, line: line)
        }
        action = machine.clientWritten(result, env)
    }

    /// The worker attaches a connection to `target` for `.route`: `reused` (from the pool, connected) or new
    /// (connected at once, or connecting). `outputCapacity`: the size of the upstream's output buffer.
    @discardableResult
    func route(to target: TargetState, reused: Bool = true, connected: Bool = true, outputCapacity: Int? = nil,
               file: StaticString = #filePath, line: UInt = #line) -> UpstreamConnection {
        let upstream = UpstreamConnection(target: target)
        guard case .route = action else {
            XCTFail("expected route, got \(summary)", file: file, line: line)
            return upstream
        }
        upstream.connected = connected || reused
        upstream.writable = upstream.connected
        upstream.completedExchanges = reused ? 1 : 0
        upstreams.append(upstream)
        let link = outputCapacity.map {
            UpstreamLink(bufferCapacity: $0, connection: upstream, counters: counters(for: target),
                         responseTimeout: Self.responseTimeout)
        } ?? env.pool.takeLink(to: upstream, counters: counters(for: target), responseTimeout: Self.responseTimeout)
        action = machine.routed(to: link, connected: upstream.connected, env)
        return upstream
    }

    /// Connecting to `target` fails at once for `.route`.
    /// The worker matches the request of `.route` against `matcher` and hands the machine the rule's answer (the
    /// rule it meets must answer by itself).
    func answer(by matcher: RuleMatcher, file: StaticString = #filePath, line: UInt = #line) {
        guard case .route = action, let exchange = machine.exchangeBeingRouted else {
            return XCTFail("expected route, got \(summary)", file: file, line: line)
        }
        let input = exchange.buffers.input
        let request = RuleRequest(head: exchange.request, fields: exchange.buffers.fields,
                                  source: input.bytes(from: input.readIndex), peerHigh: 0, peerLow: 0xffff_c000_0207)
        guard let hit = matcher.match(request), !matcher.forwards(hit.rule) else {
            return XCTFail("no rule answers \(exchange.request)", file: file, line: line)
        }
        action = machine.answer(by: matcher, hit, request, env)
    }

    func refuse(_ target: TargetState, errno: Int32 = 111, file: StaticString = #filePath, line: UInt = #line) {
        guard case .route = action else {
            return XCTFail("expected route, got \(summary)", file: file, line: line)
        }
        action = machine.connectFailed(to: target, counters: counters(for: target), errno: errno, env)
    }

    /// The upstream takes (at most `limit` of) what `.writeUpstream` sends, which is returned.
    @discardableResult
    func upstreamTakes(limit: Int = .max, file: StaticString = #filePath, line: UInt = #line) -> String {
        guard case .writeUpstream(_, let region) = action else {
            XCTFail("expected writeUpstream, got \(summary)", file: file, line: line)
            return ""
        }
        let count = min(limit, region.count)
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: region[0..<count]), as: UTF8.self)
        action = machine.upstreamWritten(.bytes(count), env)
        return text
    }

    func upstreamWrite(_ result: IOResult, file: StaticString = #filePath, line: UInt = #line) {
        guard case .writeUpstream = action else {
            return XCTFail("expected writeUpstream, got \(summary)", file: file, line: line)
        }
        action = machine.upstreamWritten(result, env)
    }

    /// The upstream's bytes arrive for `.readUpstream`; `more`: the socket still has bytes after them.
    func upstreamSends(_ text: String, more: Bool = false, file: StaticString = #filePath, line: UInt = #line) {
        guard case .readUpstream(_, let region) = action else {
            return XCTFail("expected readUpstream, got \(summary)", file: file, line: line)
        }
        let bytes = Array(text.utf8)
        XCTAssertLessThanOrEqual(bytes.count, region.count, "the read's buffer is too small", file: file, line: line)
        bytes.withUnsafeBytes { region.copyMemory(from: $0) }
        // A short read ends readiness (the machine's rule); a hang-up keeps it, for the end of file.
        upstreams.last!.hangUpSignalled = more
        action = machine.upstreamRead(.bytes(bytes.count), env)
        upstreams.last!.hangUpSignalled = false
    }

    func upstreamRead(_ result: IOResult, file: StaticString = #filePath, line: UInt = #line) {
        guard case .readUpstream = action else {
            return XCTFail("expected readUpstream, got \(summary)", file: file, line: line)
        }
        action = machine.upstreamRead(result, env)
    }

    /// An upstream readiness event (the worker drives the client).
    func upstreamReadable(_ upstream: UpstreamConnection? = nil) {
        (upstream ?? upstreams.last!).readable = true
        next()
    }

    func clientReadable() {
        machine.readable = true
        next()
    }

    /// The worker's answer to `.takeRelay`.
    func giveRelay(_ relay: SpliceRelay?, file: StaticString = #filePath, line: UInt = #line) {
        guard case .takeRelay(let leg) = action else {
            return XCTFail("expected takeRelay, got \(summary)", file: file, line: line)
        }
        action = machine.relayTaken(relay, for: leg, env)
    }

    /// The outcome of `.splice`: the span has `remaining` bytes left to read, and `written` reached the destination.
    func spliced(_ outcome: SpliceRelay.Outcome, remaining: UInt64?, written: Int = 0,
                 file: StaticString = #filePath, line: UInt = #line) {
        guard case .splice(_, let leg, _, _) = action else {
            return XCTFail("expected splice, got \(summary)", file: file, line: line)
        }
        action = machine.spliced(leg, outcome, remaining: remaining, written: written, env)
    }

    /// What the machine released with the last action, once `proceed` took it.
    var lastReleased = Released()

    /// Carries out a bookkeeping action as the worker would (a released link goes back to the pool) and asks
    /// for the next one.
    func proceed(file: StaticString = #filePath, line: UInt = #line) {
        carriedOut.append(summary)
        _ = machine.takeReport()
        switch action {
        case .failingResponse, .upgraded, .shutdownClientOutput, .shutdownUpstreamOutput:
            break
        case .finishExchange, .failed, .releaseRelay:
            lastReleased = machine.takeReleased()
            if let link = lastReleased.upstream, link.output.capacity == env.pool.bufferCapacity { env.pool.give(link) }
        default:
            return XCTFail("nothing to carry out for \(summary)", file: file, line: line)
        }
        next()
    }

    /// The deadline passed: the tick's action.
    func timeOut(file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertLessThanOrEqual(machine.deadline, now, "the deadline has not passed", file: file, line: line)
        action = machine.timedOut(env)
    }

    // MARK: - Canned texts

    static func canned(_ status: UInt16) -> String {
        String(decoding: ErrorResponse.bytes(status: status), as: UTF8.self)
    }
}

extension MachineHarness {
    /// The last action in a line, for assertions: its case, the values that identify what it acts on, and for
    /// `.failed` and `.close` the failure the machine reports with it.
    var summary: String {
        switch action {
        case .wait: return "wait"
        case .readClient: return "readClient"
        case .writeClient: return "writeClient"
        case .readUpstream: return "readUpstream"
        case .writeUpstream: return "writeUpstream"
        case .route(let excluding, let orExcluded, let isRetry):
            return "route(excluding: \(excluding.map { "\($0.object.key)" } ?? "nil"), orExcluded: \(orExcluded), retry: \(isRetry))"
        case .takeRelay(let leg): return "takeRelay(\(leg))"
        case .splice(_, let leg, _, let limit): return "splice(\(leg), limit: \(limit.map(String.init) ?? "nil"))"
        case .releaseRelay: return "releaseRelay"
        case .failingResponse(let target): return "failingResponse(\(target.object.key))"
        case .upgraded(_, let status, _, _): return "upgraded(\(status))"
        case .finishExchange(let status, _, let reuse, let idle):
            return "finishExchange(\(status), reuse: \(reuse)\(idle ? ", idle" : ""))"
        case .shutdownClientOutput: return "shutdownClientOutput"
        case .shutdownUpstreamOutput: return "shutdownUpstreamOutput"
        case .failed:
            guard let report = machine.report else { return "failed(no report)" }
            return "failed(\(report.failure.summary), answer: \(report.answer.map(String.init) ?? "nil"))"
        case .close(let abort, let flushing):
            var text = "close(abort: \(abort)"
            if let report = machine.report {
                text += ", \(report.failure.summary)"
                if let answer = report.answer { text += ", proxyError: \(answer)" }
            }
            if flushing != nil { text += ", flushing" }
            return text + ")"
        }
    }
}

extension ConnectionFailure {
    var summary: String {
        switch self {
        case .malformedRequest(let error): return "malformedRequest(\(error.status))"
        case .requestHeadTimedOut: return "requestHeadTimedOut"
        case .noTarget: return "noTarget"
        case .localResourceShortage: return "localResourceShortage"
        case .requestHeadTooLarge: return "requestHeadTooLarge"
        case .malformedRequestBody(let error): return "malformedRequestBody(\(error.status))"
        case .clientClosedDuringBody: return "clientClosedDuringBody"
        case .connectFailed(let target, _, let err, let attempt):
            return "connectFailed(\(target.object.key), errno: \(err), attempt: \(attempt))"
        case .upstreamLost(let target, let loss, let reused, let retry):
            return "upstreamLost(\(target.object.key), \(loss), reused: \(reused), retry: \(retry))"
        case .malformedResponse(_, let target): return "malformedResponse(\(target.object.key))"
        case .tooManyInterimResponses: return "tooManyInterimResponses"
        case .interimHeadTooLarge: return "interimHeadTooLarge"
        case .responseHeadTooLarge: return "responseHeadTooLarge"
        case .unexpectedProtocolSwitch: return "unexpectedProtocolSwitch"
        case .malformedResponseBody: return "malformedResponseBody"
        case .upstreamClosedMidResponse: return "upstreamClosedMidResponse"
        case .upstreamFailedMidResponse(_, let err): return "upstreamFailedMidResponse(errno: \(err))"
        case .upstreamResponseTimedOut: return "upstreamResponseTimedOut"
        case .transferStalled: return "transferStalled"
        }
    }
}
