import TurnoutHTTP1
import TurnoutMetrics
import TurnoutPosix

/// Where a client connection is in its life. One request/response exchange at a time
/// (pipelined requests wait in the input buffer).
enum ClientPhase: Equatable {
    /// Keep-alive, no request bytes yet; holds no buffers.
    case idle
    /// Request head bytes are arriving.
    case readingHead
    /// Routed; waiting for the upstream connection to be established.
    case connecting
    /// Request and response flowing between client and upstream.
    case exchanging
    /// Upgraded (101): a byte tunnel between client and upstream.
    case tunnel
    /// Flushing a final response, then a lingering close.
    case closing
}

/// One accepted client connection and the exchange in progress on it. Owned by a
/// single worker thread; recycled through the worker's free list.
final class ClientConnection {
    var fd: Int32 = -1
    var slot = 0
    var slotGeneration: UInt32 = 0
    var listenerIndex = 0
    var listenerPort: UInt16 = 0

    /// The peer's numeric address, formatted once at accept for X-Forwarded-For.
    let peerHost = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 1)
    var peerHostLength = 0

    var phase = ClientPhase.idle
    /// Monotonic nanoseconds at which the current phase times out.
    var deadline: UInt64 = 0

    var input: IOBuffer?
    var output: IOBuffer?
    var fields: HeaderFieldTable?

    /// Edge-triggered readiness, cleared when a call returns EAGAIN.
    var readable = false
    var writable = true
    /// The peer's hang-up (RDHUP/HUP/ERR) was signalled: read to the end of file.
    var hangUpSignalled = false
    var peerClosedInput = false

    // The exchange in progress.
    var request: RequestHead?
    /// Absolute index in `input` of the first request byte not yet forwarded.
    var bodyCursor = 0
    /// Whether the request head is still at `input.readIndex` (kept for a retry).
    var headPinned = false
    var requestBody = BodyTransfer.done
    var responseBody = BodyTransfer.done
    var responseStarted = false
    /// Status of the response being forwarded (for metrics), 0 before its head.
    var responseStatus: UInt16 = 0
    /// Bytes of the current response written to the client (interim responses included).
    var responseBytesWritten = 0
    /// Interim (1xx) responses the upstream sent for the current request.
    var interimResponses = 0
    var closeAfterResponse = false
    /// Whether the upstream's response left its connection reusable.
    var upstreamReusable = false
    /// Whether our sending side was shut down (closing and tunnel phases).
    var outputShut = false
    var upstream: UpstreamConnection?
    /// Splice relays for the request and response bodies, while one is in use.
    var requestRelay: SpliceRelay?
    var responseRelay: SpliceRelay?
    var group = -1
    var target: TargetState?
    /// The `upstream_response` limit of the group the request was routed to, in nanoseconds.
    var upstreamResponseTimeout: UInt64 = 0
    /// Counters for the route the current request took (listener, group, target).
    var routeCounters: RouteCounters?
    var attempts = 0
    var requestStart: UInt64 = 0

    deinit { peerHost.deallocate() }

    var peerHostBytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: peerHost.baseAddress, count: peerHostLength)
    }

    /// Whether the connection may close as soon as the response is out, without lingering: the
    /// client said it sends nothing more (`Connection: close`, or HTTP/1.0 without keep-alive),
    /// its request was read whole and no byte after it is buffered, so closing cannot reset a
    /// response the client has yet to read (RFC 9112 §9.6).
    var closesWithoutLinger: Bool {
        guard let request, !request.keepAlive, requestBody.isDone else { return false }
        guard let input else { return true }
        return headPinned ? input.writeIndex == bodyCursor : input.isEmpty
    }

    /// Clears the exchange state before the next request.
    func resetExchange() {
        request = nil
        headPinned = false
        requestBody = .done
        responseBody = .done
        responseStarted = false
        responseStatus = 0
        responseBytesWritten = 0
        interimResponses = 0
        upstreamReusable = false
        upstream = nil
        group = -1
        target = nil
        routeCounters = nil
        attempts = 0
    }
}

/// One connection to a target. Attached to a client while serving an exchange,
/// otherwise parked in its target's idle pool.
final class UpstreamConnection {
    var fd: Int32 = -1
    var slot = 0
    var slotGeneration: UInt32 = 0
    /// The target it connects to; set anew when the object is recycled for another connection.
    var target: TargetState
    var input: IOBuffer?
    var output: IOBuffer?
    var connected = false
    var readable = false
    var writable = false
    var hangUpSignalled = false
    var peerClosedInput = false
    var outputShut = false
    /// The client it serves; `nil` while pooled.
    var client: ClientConnection?
    /// Requests completed on this connection (a reused connection may have gone stale).
    var completedExchanges = 0
    var responseBytes = 0
    var idleSince: UInt64 = 0

    init(target: TargetState) { self.target = target }

    /// Readies a closed, recycled object for a new connection to `target`.
    func reuse(for target: TargetState) {
        self.target = target
        connected = false
        readable = false
        writable = false
        hangUpSignalled = false
        peerClosedInput = false
        outputShut = false
        client = nil
        completedExchanges = 0
        responseBytes = 0
        idleSince = 0
    }
}
