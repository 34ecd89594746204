import TurnoutHTTP1
import TurnoutMetrics
import TurnoutPosix

/// The exchange's body spans moved by `splice(2)`: whether a span is spliced, the relay it takes, and what a
/// splice's outcome does to the exchange.
extension ClientStateMachine {
    /// Whether the next bytes of `body` are to be spliced (once nothing is buffered for them in user space), so
    /// they must not be read into a buffer.
    func wantsSplice(_ body: BodyTransfer, _ link: UpstreamLink, _ env: ConnectionEnvironment) -> Bool {
        // Over TLS on either side, the bytes on the socket are not the ones to forward.
        guard env.spliceEnabled && !secure && link.connection.tls == nil else { return false }
        switch body.spliceSpan {
        case .bytes(let remaining): return remaining >= Self.spliceThreshold
        case .untilClose: return true
        case .none: return false
        }
    }

    /// Spans shorter than this are copied: for them a pipe saves nothing. It applies to a whole Content-Length
    /// body and to the rest of a chunk alike. (A 16 KiB threshold cost more CPU with 16 KiB chunks: a header
    /// write and two splices per chunk instead of one read and one write of a buffer holding a chunk or more.)
    static let spliceThreshold: UInt64 = 64 * 1024

    /// What a relay may still read for `body`: nil until end of file, 0 when only the pipe is left to drain (the
    /// span's bytes are all read, or framing comes next).
    static func spliceLimit(_ body: BodyTransfer) -> UInt64? {
        switch body.spliceSpan {
        case .bytes(let remaining): return remaining
        case .untilClose: return nil
        case .none: return 0
        }
    }

    /// The outcome of `.takeRelay`: nil when no pipe could be had (the span is copied this time).
    @inline(never)  // an event: its own frame, where `take` moves the state (inlined, it copied)
    mutating func relayTaken(_ relay: SpliceRelay?, for leg: SpliceLeg, _ env: ConnectionEnvironment) -> ClientAction {
        let current = take()
        switch consume current {
        case .exchanging(let exchange, let link):
            let action: ClientAction?
            switch leg {
            case .requestBody:
                guard case .copying = exchange.requestStage else { preconditionFailure("relay for no request body") }
                if let relay { exchange.requestStage = .splicing(relay) }
                action = requestBodyStep(exchange, link, env, mayTakeRelay: false)
            case .responseBody:
                guard case .copying(let response) = exchange.responseStage else {
                    preconditionFailure("relay for no response body")
                }
                if let relay { exchange.responseStage = .splicing(relay, response) }
                action = responseBodyStep(exchange, link, env, mayTakeRelay: false)
            case .tunnelUpward, .tunnelDownward:
                preconditionFailure("tunnel relay in an exchange")
            }
            guard let action else { return exchangeNext(exchange, link, env) }
            if case .modifying = state { state = .exchanging(exchange, link) }
            return action
        case .tunnel(let tunnel):
            return tunnelRelayTaken(relay, leg: leg, tunnel, env)
        case let other:
            state = other
            preconditionFailure("relay taken in state \(stateName)")
        }
    }

    /// The outcome of `.splice`: `remaining` is what the span still has to read (nil: until end of file),
    /// `written` what reached the destination.
    @inline(never)  // an event: its own frame, where `take` moves the state (inlined, it copied)
    mutating func spliced(_ leg: SpliceLeg, _ outcome: SpliceRelay.Outcome, remaining: UInt64?, written: Int,
                          _ env: ConnectionEnvironment) -> ClientAction {
        let current = take()
        switch consume current {
        case .exchanging(let exchange, let link):
            switch leg {
            case .requestBody: return requestSpliced(outcome, remaining: remaining, exchange, link, env)
            case .responseBody: return responseSpliced(outcome, remaining: remaining, written: written, exchange, link, env)
            case .tunnelUpward, .tunnelDownward: preconditionFailure("tunnel splice in an exchange")
            }
        case .tunnel(let tunnel):
            return tunnelSpliced(outcome, leg: leg, tunnel, env)
        case let other:
            state = other
            preconditionFailure("splice reported in state \(stateName)")
        }
    }

    private mutating func requestSpliced(_ outcome: SpliceRelay.Outcome, remaining: UInt64?, _ exchange: Exchange,
                                         _ link: UpstreamLink, _ env: ConnectionEnvironment) -> ClientAction {
        guard case .splicing(let relay) = exchange.requestStage, let limit = Self.spliceLimit(exchange.requestBody) else {
            preconditionFailure("request splice without a span")
        }
        exchange.requestBody.recordSpliced(limit - (remaining ?? limit))
        exchange.requestBodyBytes &+= Int(limit - (remaining ?? limit))
        switch outcome {
        case .progressed, .stalled:
            if remaining == 0 && relay.buffered == 0 {
                // The span is through: a Content-Length body is done, a chunked one goes back to its framing.
                if case .length = exchange.requestBody { exchange.requestBody = .done }
                exchange.requestStage = exchange.requestBody.isDone ? .sent : .copying
                exchange.roundProgressed = true
                return keep(releasing(relay), exchange, link)
            }
            if outcome == .progressed {
                deadline = env.now &+ link.responseTimeout
                exchange.roundProgressed = true
            }
            return exchangeNext(exchange, link, env)
        case .sourceEnded, .sourceFailed:
            return keep(closing(abort: true, .clientClosedDuringBody), exchange, link)
        case .destinationFailed:
            return upstreamLost(.writeFailed, exchange, link, env)
        case .unsupported:
            // The worker copies from now on; bytes stuck in the pipe cannot be passed on in order.
            guard relay.buffered == 0 else { return keep(.close(abort: true), exchange, link) }
            exchange.requestStage = .copying
            exchange.roundProgressed = true
            return keep(releasing(relay), exchange, link)
        }
    }

    private mutating func responseSpliced(_ outcome: SpliceRelay.Outcome, remaining: UInt64?, written: Int,
                                          _ exchange: Exchange, _ link: UpstreamLink,
                                          _ env: ConnectionEnvironment) -> ClientAction {
        guard case .splicing(let relay, var response) = exchange.responseStage else {
            preconditionFailure("response splice without a relay")
        }
        exchange.responseBytesWritten &+= written
        if let limit = Self.spliceLimit(exchange.responseBody), let left = remaining {
            exchange.responseBody.recordSpliced(limit - left)
        }
        switch outcome {
        case .progressed, .stalled:
            if remaining == 0 && relay.buffered == 0 {
                if case .length = exchange.responseBody { exchange.responseBody = .done }
                exchange.responseStage = exchange.responseBody.isDone ? .complete(response) : .copying(response)
                exchange.roundProgressed = true
                return keep(releasing(relay), exchange, link)
            }
            if outcome == .progressed {
                deadline = env.now &+ link.responseTimeout
                exchange.roundProgressed = true
            }
            return exchangeNext(exchange, link, env)
        case .sourceEnded:
            guard remaining == nil else {
                return abortResponse(.upstreamClosedMidResponse(Lent(link.target)), exchange, link, env)
            }
            response.upstreamReusable = false
            exchange.responseBody = .done
            exchange.responseStage = .complete(response)
            exchange.roundProgressed = true
            return keep(releasing(relay), exchange, link)
        case .sourceFailed(let err):
            return abortResponse(.upstreamFailedMidResponse(Lent(link.target), errno: err), exchange, link, env)
        case .destinationFailed:
            return keep(.close(abort: false), exchange, link)
        case .unsupported:
            guard relay.buffered == 0 else { return keep(.close(abort: true), exchange, link) }
            exchange.responseStage = .copying(response)
            exchange.roundProgressed = true
            return keep(releasing(relay), exchange, link)
        }
    }
}
