import TurnoutHTTP1
import TurnoutMetrics

/// What the worker does next for a client connection, as its state machine decides. Actions that move bytes or
/// route are reported back with the matching event (`clientRead`, `routed`, `spliced`, ...); the others are
/// carried out and followed by `next`. The machine never makes a system call; the worker makes nothing else.
///
/// An action is plain data, built and dropped on every event at no reference-counting cost: reads and writes name
/// the bytes (in buffers the state holds) and the descriptor, other objects are lent (`Lent`: the state holds
/// them), and what the machine lets go of waits in its outbox (`ClientStateMachine.takeReleased`).
enum ClientAction {
    /// Nothing can move until a readiness event (or the deadline).
    case wait
    /// Read from the client into these bytes (a buffer's free tail); report `clientRead`.
    case readClient(UnsafeMutableRawBufferPointer)
    /// Send these bytes (a buffer's pending ones) to the client; report `clientWritten`.
    case writeClient(UnsafeRawBufferPointer)
    /// Read from the upstream socket `fd` into these bytes; report `upstreamRead` (the machine keeps the upstream's
    /// readiness).
    case readUpstream(fd: Int32, UnsafeMutableRawBufferPointer)
    /// Send these bytes to the upstream socket `fd`; report `upstreamWritten`.
    case writeUpstream(fd: Int32, UnsafeRawBufferPointer)
    /// Pick a target for the request (another than `excluding` when the group has one; `orExcluded` allows it as
    /// the last resort) and attach a pooled or new upstream connection; report `routed`, `connectFailed(to:)`,
    /// `noTarget` or `noResources`. `isRetry`: a target was tried before.
    case route(excluding: Lent<TargetState>?, orExcluded: Bool, isRetry: Bool)
    /// A relay (a pipe) for `leg`, from the worker's spares or new; report `relayTaken`.
    case takeRelay(SpliceLeg)
    /// Splice `leg` through `relay`, at most `limit` bytes from its source (nil: until end of file), within the
    /// turn's budget; report `spliced`.
    case splice(Lent<SpliceRelay>, SpliceLeg, upstream: Lent<UpstreamConnection>, limit: UInt64?)
    /// The machine is done with a relay (see `takeReleased`): back to the spares when empty, else its pipe closes.
    case releaseRelay
    /// A final response head from `target` counts as a failure (a 5xx with `passive_ejection.count_5xx`).
    case failingResponse(Lent<TargetState>)
    /// The upstream switched protocols: the response head counts for `target` as any does, and the request as
    /// answered (`counters`, after `duration` nanoseconds). The connection is a tunnel now.
    case upgraded(Lent<TargetState>, status: UInt16, counters: Lent<RouteCounters>, duration: UInt64)
    /// The response is delivered: count it on the route's counters, and release the upstream (see `takeReleased`;
    /// to its pool when `reuse`) and any relay. `idle`: the connection went idle with nothing readable, so `next`
    /// would only say `.wait`.
    case finishExchange(status: UInt16, duration: UInt64, reuse: Bool, idle: Bool)
    /// Shut down the sending side of the client socket (a lingering close begins, or a tunnel passes on an end).
    case shutdownClientOutput
    /// Shut down the sending side of the upstream socket (a tunnel passes on the client's end).
    case shutdownUpstreamOutput(Lent<UpstreamConnection>)
    /// Something failed: log what the machine reports (`takeReport`), count its answer as a proxy error when the
    /// client is answered (the canned response is already in its output), and close what was released
    /// (`takeReleased`). The machine is closing, or routing again for a retry.
    case failed
    /// Close the connection, with a reset when `abort` (a response cut short must not look complete), after
    /// logging what the machine reports, if anything, and trying once to send `flushing`.
    case close(abort: Bool, flushing: UnsafeRawBufferPointer? = nil)
}

/// A reference an action carries without retaining it: the machine's state (or, for a target and its counters,
/// the worker's routing) holds the object at least until the worker has carried the action out.
struct Lent<Object: AnyObject> {
    unowned(unsafe) let object: Object

    @inline(__always) init(_ object: Object) { self.object = object }
}

/// A body or tunnel direction moved by `splice(2)`.
enum SpliceLeg: Equatable {
    /// The request body: client → upstream, exactly the span's bytes.
    case requestBody
    /// The response body: upstream → client, the span's bytes or until the upstream closes.
    case responseBody
    /// A tunnel's client → upstream direction, until the client closes.
    case tunnelUpward
    /// A tunnel's upstream → client direction, until the upstream closes.
    case tunnelDownward
}

/// What a state machine lets go of for the worker to close or pool: an upstream connection (with its buffers)
/// and the relays of spans that were being spliced.
struct Released {
    var upstream: UpstreamLink?
    var relays = Relays()
}

/// Up to two relays: a connection's two directions (request and response, or a tunnel's up and down).
struct Relays {
    var first: SpliceRelay?
    var second: SpliceRelay?

    mutating func add(_ relay: SpliceRelay) {
        if first == nil { first = relay } else { second = relay }
    }
}

/// A failure as the machine reports it with `.failed` or `.close`: why, the status the client is answered with
/// (or was to be, when the connection closes instead), and the counters of the route the request last took, if
/// it was routed.
struct FailureReport {
    var failure: ConnectionFailure
    var answer: UInt16?
    var route: RouteCounters?
}

/// A request that got its answer (a response delivered, a switch of protocols, or the proxy's own error answer),
/// as the access log records it; the machine keeps it for the worker (`ClientStateMachine.takeAccess`) only when
/// the listener writes an access log. `route` and `exchange` are lent: the exchange is back in the worker's pool,
/// untouched until the worker takes another one, which it does only after carrying out this action.
struct AccessFacts {
    var status: UInt16
    var duration: UInt64
    var upstreamDuration: UInt64?
    var bytesIn: Int
    var bytesOut: Int
    var retried: Bool
    /// The route last taken (group and target); nil when the request was never routed.
    var route: Lent<RouteCounters>?
    /// The listener rule that took the request (its counters, which the worker's routing holds); nil: the
    /// listener's own forward, or not routed.
    var rule: Lent<RuleCounters>?
    /// The request's copied text; nil when its head did not parse.
    var exchange: Lent<Exchange>?
}

/// Why a connection or an exchange went wrong: the worker's log line and bookkeeping for it. The targets it names
/// are lent as an action's references are: an upstream link that was released holds its target until the worker
/// has carried out the action.
enum ConnectionFailure {
    /// The request head is malformed (400, 417, 431, 501, 505 from the parser).
    case malformedRequest(HeadError)
    /// The request head did not complete within `client_header` (408).
    case requestHeadTimedOut
    /// No target to route to (503, or 502 on a retry).
    case noTarget
    /// No descriptor or memory for an upstream connection (503); the worker's shortage report says so.
    case localResourceShortage
    /// The rewritten request head does not fit the upstream's buffer (431).
    case requestHeadTooLarge
    /// The request body's chunked framing is malformed.
    case malformedRequestBody(HeadError)
    /// The client closed or reset while sending the request body.
    case clientClosedDuringBody
    /// Connecting to `target` failed (or timed out): `attempt` was the first or the second.
    case connectFailed(Lent<TargetState>, Lent<RouteCounters>, errno: Int32, attempt: Int)
    /// The upstream connection broke before a response; `reused`: it had served requests before (not counted
    /// against the target); `retry`: the request goes to another target.
    case upstreamLost(Lent<TargetState>, UpstreamLoss, reused: Bool, retry: Bool)
    case malformedResponse(HeadError, Lent<TargetState>)
    /// More than `ClientStateMachine.maxInterimResponses` 1xx heads for one request.
    case tooManyInterimResponses(Lent<TargetState>)
    case interimHeadTooLarge(Lent<TargetState>)
    case responseHeadTooLarge(Lent<TargetState>)
    /// A 101 to a request that asked for no upgrade.
    case unexpectedProtocolSwitch(Lent<TargetState>)
    case malformedResponseBody(HeadError, Lent<TargetState>)
    case upstreamClosedMidResponse(Lent<TargetState>)
    case upstreamFailedMidResponse(Lent<TargetState>, errno: Int32)
    /// No response head within the group's `upstream_response` (504).
    case upstreamResponseTimedOut(Lent<TargetState>)
    /// A response under way moved nothing within `upstream_response`.
    case transferStalled
}

/// How an upstream connection broke before its response.
enum UpstreamLoss {
    case writeFailed
    case closedBeforeResponse
}
