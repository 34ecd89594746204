import TurnoutHTTP1
import TurnoutMetrics

/// One request and its response, from a complete request head until the response is delivered (or the exchange
/// fails). Borrowed from the worker's pool for the exchange and given back after it; besides values it holds the
/// client's buffers and, while a body span is spliced, that span's relay.
final class Exchange {
    /// The client's buffers, which hold the request head while it is pinned.
    var buffers: ClientBuffers
    /// The request head: ranges into the client's input buffer while the head is pinned there, fields in the
    /// client's field table.
    var request = RequestHead(method: .get, methodRange: ByteRange(start: 0, count: 0), target: ByteRange(start: 0, count: 0),
                              version: .http11, headLength: 0, framing: .none, keepAlive: true, expectContinue: false,
                              isUpgrade: false, host: nil, hasRequestId: false, xForwardedFor: nil)
    /// Monotonic time the head was complete (request durations run from here).
    var requestStart: UInt64 = 0
    /// Targets tried so far; a retry is the second.
    var attempts = 0
    /// The counters of the route last taken (the attempt under way, or the one that failed before a retry): an
    /// error the proxy answers for the request counts there too.
    var routeCounters: RouteCounters?
    /// The counters of the listener rule that took the request (nil: the listener's forward); the access log
    /// names the rule from them.
    var ruleCounters: RuleCounters?
    /// Whether the client connection closes once the response is out.
    var closeAfterResponse = false
    /// Absolute index in the client's input of the first request byte not yet forwarded: the body's start while
    /// the head is pinned.
    var bodyCursor = 0
    var requestStage = RequestStage.unsent
    /// What is left of the request body (`.done` once through, and for a request without one).
    var requestBody = BodyTransfer.done
    var responseStage = ResponseStage.awaitingHead(interims: 0)
    /// What is left of the response body, once its head is in (`.done` once through).
    var responseBody = BodyTransfer.done
    /// Bytes of the response written to the client so far, interim responses included.
    var responseBytesWritten = 0
    /// Bytes the current upstream connection sent before a final head: any, and a retry might repeat an answer.
    var upstreamBytesReceived = 0
    /// Request body bytes read from the client (as framed on the wire), for the access log.
    var requestBodyBytes = 0
    /// Monotonic time the last attempt was routed, and the final response head arrived (0: not yet).
    var attemptStart: UInt64 = 0
    var responseHeadAt: UInt64 = 0
    /// What the access log shows of the request (copied only when the listener writes one).
    var logText = AccessLogText()
    /// Where the exchange's round of steps resumes (see `ClientStateMachine.exchangeNext`).
    var step = ExchangeStep.requestBody
    /// Whether any step of the current round moved bytes.
    var roundProgressed = false
    /// A `Set-Cookie` line for the response's head (a sticky route pinning the client to the group it got), in
    /// the bytes of `setCookieOwner`, which keeps them alive; empty for none.
    var setCookie = UnsafeRawBufferPointer(start: nil, count: 0)
    var setCookieOwner: AffinityMatcher?
    /// The X-Request-Id the proxy made for the request before its head is written (a mirrored copy carries it), so
    /// that the route's target gets the same one; nil when none was made yet. Its bytes are the record's own.
    private(set) var madeRequestId: UnsafeRawBufferPointer?
    private let requestIdBytes = UnsafeMutableRawBufferPointer.allocate(byteCount: 32, alignment: 8)

    init(buffers: ClientBuffers) { self.buffers = buffers }

    deinit {
        logText.deallocate()
        requestIdBytes.deallocate()
    }

    /// Keeps a copy of `id` (at most 32 bytes, as `RequestIdGenerator` makes them) as the request's id.
    func keepRequestId(_ id: UnsafeRawBufferPointer) {
        let count = min(id.count, requestIdBytes.count)
        requestIdBytes.baseAddress!.copyMemory(from: id.baseAddress!, byteCount: count)
        madeRequestId = UnsafeRawBufferPointer(start: requestIdBytes.baseAddress, count: count)
    }

    /// Readies the record for the request `head`, complete at `now`; its body (if any) starts at `bodyStart`.
    func begin(_ head: RequestHead, bodyStart: Int, now: UInt64, closeAfterResponse: Bool) {
        request = head
        requestStart = now
        attempts = 0
        routeCounters = nil
        ruleCounters = nil
        self.closeAfterResponse = closeAfterResponse
        bodyCursor = bodyStart
        requestStage = .unsent
        requestBody = BodyTransfer(framing: head.framing)
        responseStage = .awaitingHead(interims: 0)
        responseBody = .done
        responseBytesWritten = 0
        upstreamBytesReceived = 0
        requestBodyBytes = 0
        attemptStart = now
        responseHeadAt = 0
        step = .requestBody
        roundProgressed = false
        setCookie = UnsafeRawBufferPointer(start: nil, count: 0)
        setCookieOwner = nil
        madeRequestId = nil
    }

    /// Drops the relays of spans still being spliced (their owner has them) before the record is pooled.
    func clear() {
        routeCounters = nil
        ruleCounters = nil
        setCookieOwner = nil
        requestStage = .sent
        responseStage = .awaitingHead(interims: 0)
    }

    /// The relays of the spans being spliced, in the request's and the response's direction.
    var relays: Relays {
        var relays = Relays()
        if case .splicing(let relay) = requestStage { relays.first = relay }
        if case .splicing(let relay, _) = responseStage { relays.second = relay }
        return relays
    }

    /// About what a record weighs on the heap, for the pool's count of freed memory.
    static let approximateBytes = 384

    /// Whether the request head still waits at the input's read index, so that a retry can send it again.
    var headPinned: Bool {
        switch requestStage {
        case .unsent, .sentReplayable: return true
        case .copying, .splicing, .sent: return false
        }
    }

    /// Whether the whole request (head and body) is, or needs nothing more to be, read from the client.
    var requestComplete: Bool { requestBody.isDone }

    /// Whether the final response head has been written to the client's output.
    var responseStarted: Bool {
        if case .awaitingHead = responseStage { return false }
        return true
    }
}

/// How far the request is on its way to the upstream; what is left of its body is `Exchange.requestBody`.
enum RequestStage {
    /// Not sent yet (routing, connecting): the head waits at the input's read index and the body, if any, is unread.
    case unsent
    /// The head is sent and there is no body; the head stays pinned for a retry until the response arrives.
    case sentReplayable
    /// The head is sent and the body is being copied through the buffers.
    case copying
    /// The head is sent and the body's current span moves through a pipe.
    case splicing(SpliceRelay)
    /// Head and body are sent.
    case sent
}

/// How far the response is on its way to the client; what is left of its body is `Exchange.responseBody`.
enum ResponseStage {
    /// No final head yet; `interims` 1xx heads were relayed.
    case awaitingHead(interims: Int)
    /// The final head is in the client's output; the body is being copied.
    case copying(ResponseFacts)
    /// The body's current span moves through a pipe.
    case splicing(SpliceRelay, ResponseFacts)
    /// The body is through (it may still wait in the client's output).
    case complete(ResponseFacts)
}

/// What the final response head said, kept for the end of the exchange.
struct ResponseFacts: Equatable {
    var status: UInt16
    /// Whether the upstream connection may serve another request once the body is through.
    var upstreamReusable: Bool
}

/// The steps of one round of an exchange, in order: each moves what it can, and the round repeats while any did.
enum ExchangeStep: UInt8 {
    case requestBody, flushUpstream, responseHead, responseBody, flushClient, endOfRound
}
