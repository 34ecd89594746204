import TurnoutHTTP1
import TurnoutMetrics
import TurnoutPosix

/// Routing, connecting and the exchange itself: the request head and body out, the response head and body back.
///
/// Within a transition the exchange's parts are out of the state (see `take`): a function that ends an event puts
/// the state back (or makes a transition) before it returns; the round's steps leave that to `exchangeNext`
/// unless they make a transition.
extension ClientStateMachine {
    // MARK: - Routing and connecting

    /// The worker attached `link`: a pooled connection, or a new one that is `connected` already or connecting.
    @inline(never)  // an event: its own frame, where `take` moves the state (inlined, it copied)
    mutating func routed(to link: UpstreamLink, connected: Bool, _ env: ConnectionEnvironment) -> ClientAction {
        let current = take()
        guard case .routing(let exchange, _, _) = consume current else { preconditionFailure("routed in another state") }
        exchange.attempts += 1
        exchange.routeCounters = link.counters
        exchange.upstreamBytesReceived = 0
        exchange.attemptStart = env.now
        deadline = env.now &+ env.settings.connectTimeout
        guard connected else {
            state = .connecting(exchange, link)
            return .wait
        }
        return sendRequestHead(exchange, link, env)
    }

    /// The exchange being routed, if the connection is routing one: the rules read its request.
    var exchangeBeingRouted: Exchange? {
        if case .routing(let exchange, _, _) = state { return exchange }
        return nil
    }

    /// A rule answered the request by itself (a fixed response or a redirect). A keep-alive request without a
    /// body gets the answer and the connection reads on (`answering`); otherwise the answer says
    /// `Connection: close` and the connection closes after it, lingering as after the proxy's other answers
    /// unless the client asked to close and sent nothing more. An answer that does not fit the output is a 431.
    @inline(never)  // an event: its own frame, where `take` moves the state (inlined, it copied)
    mutating func answer(by matcher: RuleMatcher, _ hit: RuleMatcher.Hit, _ request: RuleRequest,
                         _ env: ConnectionEnvironment) -> ClientAction {
        let current = take()
        guard case .routing(let exchange, _, _) = consume current else { preconditionFailure("answer in another state") }
        let buffers = exchange.buffers
        let output = buffers.output
        output.compact()
        let keepAlive = exchange.request.keepAlive && exchange.requestComplete && !exchange.closeAfterResponse
            && !env.draining
        guard let written = matcher.writeAnswer(rule: hit.rule, request, pathCapture: hit.pathCapture,
                                                headOnly: exchange.request.method == .head, closing: !keepAlive,
                                                into: output.tail) else {
            return respond(431, .requestHeadTooLarge, exchange, nil, env)
        }
        output.writeIndex += written
        if keepAlive {
            buffers.input.readIndex = exchange.bodyCursor
            env.pool.give(exchange)
            return answeringNext(buffers, env)
        }
        let linger = !Self.closesWithoutLinger(exchange, input: buffers.input)
        env.pool.give(exchange)
        beginClosing(buffers, linger: linger, env)
        return closingNext(buffers, linger: linger)
    }

    /// The listener's groups have no target to offer: 503, or 502 when a target was tried and failed.
    @inline(never)  // an event: its own frame, where `take` moves the state (inlined, it copied)
    mutating func noTarget(_ env: ConnectionEnvironment) -> ClientAction {
        let current = take()
        guard case .routing(let exchange, _, _) = consume current else { preconditionFailure("noTarget in another state") }
        return respond(exchange.attempts > 0 ? 502 : 503, .noTarget, exchange, nil, env)
    }

    /// No descriptor or memory for an upstream connection to the route `counters` count: 503, and nothing counted
    /// against the target.
    @inline(never)  // an event: its own frame, where `take` moves the state (inlined, it copied)
    mutating func noResources(route counters: RouteCounters, _ env: ConnectionEnvironment) -> ClientAction {
        let current = take()
        guard case .routing(let exchange, _, _) = consume current else { preconditionFailure("noResources in another state") }
        exchange.routeCounters = counters
        return respond(503, .localResourceShortage, exchange, nil, env)
    }

    /// Connecting to `target` failed at once (nothing was sent): another target once, then 502.
    @inline(never)  // an event: its own frame, where `take` moves the state (inlined, it copied)
    mutating func connectFailed(to target: TargetState, counters: RouteCounters, errno: Int32,
                                _ env: ConnectionEnvironment) -> ClientAction {
        let current = take()
        guard case .routing(let exchange, _, _) = consume current else {
            preconditionFailure("connectFailed(to:) in another state")
        }
        exchange.attempts += 1
        exchange.routeCounters = counters
        let failure = ConnectionFailure.connectFailed(Lent(target), Lent(counters), errno: errno, attempt: exchange.attempts)
        guard exchange.attempts < 2 else { return respond(502, failure, exchange, nil, env) }
        state = .routing(exchange, excluding: target, orExcluded: false)
        return failing(failure, answer: nil)
    }

    /// The connection being established failed (nothing was sent): another target once, then 502.
    @inline(never)  // an event: its own frame, where `take` moves the state (inlined, it copied)
    mutating func connectFailed(errno: Int32, _ env: ConnectionEnvironment) -> ClientAction {
        let current = take()
        guard case .connecting(let exchange, let link) = consume current else {
            preconditionFailure("connectFailed in another state")
        }
        return connectFailed(exchange, link, errno: errno, env)
    }

    /// The connection `link` was being established on failed or timed out before anything was sent.
    mutating func connectFailed(_ exchange: Exchange, _ link: UpstreamLink, errno: Int32,
                                _ env: ConnectionEnvironment) -> ClientAction {
        let failure = ConnectionFailure.connectFailed(Lent(link.target), Lent(link.counters), errno: errno, attempt: exchange.attempts)
        guard exchange.attempts < 2 else { return respond(502, failure, exchange, link, env) }
        state = .routing(exchange, excluding: link.target, orExcluded: false)
        release(link)
        return failing(failure, answer: nil)
    }

    /// Writes the rewritten request head into the upstream's output; the exchange begins.
    mutating func sendRequestHead(_ exchange: Exchange, _ link: UpstreamLink, _ env: ConnectionEnvironment) -> ClientAction {
        let input = exchange.buffers.input, output = link.output
        let head = exchange.request
        var requestId: UnsafeRawBufferPointer? = nil
        if !head.hasRequestId { requestId = exchange.madeRequestId != nil ? exchange.madeRequestId : env.requestIds.next() }
        if recordsAccess, let requestId { exchange.logText.noteRequestId(requestId) }
        let forwarded = ForwardedFor(clientAddress: peerAddress, proto: secure ? "https" : "http", port: listenerPort,
                                     requestId: requestId, targetAuthority: link.target.authority)
        guard let written = RequestHeadWriter.write(head, fields: exchange.buffers.fields,
                                                    source: input.bytes(from: input.readIndex), forwarded: forwarded,
                                                    into: output.tail) else {
            return respond(431, .requestHeadTooLarge, exchange, link, env)
        }
        output.writeIndex += written
        deadline = env.now &+ link.responseTimeout
        switch exchange.requestStage {
        case .unsent where !exchange.requestBody.isDone:
            // Body bytes are about to be consumed: the request can no longer be replayed.
            input.readIndex = exchange.bodyCursor
            exchange.requestStage = .copying
        case .unsent, .sentReplayable:
            exchange.requestStage = .sentReplayable
        case .copying, .splicing, .sent:
            preconditionFailure("request head sent again after its body")
        }
        exchange.step = .requestBody
        exchange.roundProgressed = false
        return exchangeNext(exchange, link, env)
    }

    // MARK: - The exchange's round

    /// Runs the exchange's round from where it stopped: request body out, upstream flushed, response head in,
    /// response body back, client flushed. Each step moves what buffers and readiness allow and asks for at
    /// most one system call (the step after it goes on once it is reported); the round repeats while any step
    /// made progress, so edge-triggered readiness is always consumed to EAGAIN or to a full buffer.
    mutating func exchangeNext(_ exchange: Exchange, _ link: UpstreamLink, _ env: ConnectionEnvironment) -> ClientAction {
        guard let action = exchangeRound(exchange, link, env) else { return finishExchange(exchange, link, env) }
        if case .modifying = state { state = .exchanging(exchange, link) }
        return action
    }

    /// Puts the exchange back as the state, for an event that ends with `action` and no transition.
    @inline(__always)
    mutating func keep(_ action: ClientAction, _ exchange: Exchange, _ link: UpstreamLink) -> ClientAction {
        if case .modifying = state { state = .exchanging(exchange, link) }
        return action
    }

    /// The round's loop: the next action, or nil when the response is delivered. It leaves the state to
    /// `exchangeNext` unless it makes a transition.
    private mutating func exchangeRound(_ exchange: Exchange, _ link: UpstreamLink, _ env: ConnectionEnvironment) -> ClientAction? {
        // The steps fall through in order; `exchange.step` records where to resume after an action.
        var step = exchange.step
        while true {
            switch step {
            case .requestBody:
                switch exchange.requestStage {
                case .copying, .splicing:
                    exchange.step = .flushUpstream
                    if let action = requestBodyStep(exchange, link, env, mayTakeRelay: true) { return action }
                case .unsent, .sentReplayable, .sent:
                    break  // most requests have no body, or have sent it
                }
                fallthrough
            case .flushUpstream:
                let output = link.output
                if !output.isEmpty && link.connection.writable {
                    exchange.step = .responseHead
                    return .writeUpstream(fd: link.connection.fd, output.pending)
                }
                fallthrough
            case .responseHead:
                // With nothing to parse and nothing to read, the head step has nothing to do.
                if case .awaitingHead = exchange.responseStage, !link.input.isEmpty || link.connection.readable {
                    exchange.step = .responseBody
                    if let action = responseHeadStep(exchange, link, env) { return action }
                }
                fallthrough
            case .responseBody:
                if exchange.responseStarted {
                    exchange.step = .flushClient
                    if let action = responseBodyStep(exchange, link, env, mayTakeRelay: true) { return action }
                }
                fallthrough
            case .flushClient:
                let output = exchange.buffers.output
                if !output.isEmpty && writable {
                    exchange.step = .endOfRound
                    return .writeClient(output.pending)
                }
                fallthrough
            case .endOfRound:
                if case .complete = exchange.responseStage, exchange.buffers.output.isEmpty {
                    return nil
                }
                guard exchange.roundProgressed else {
                    exchange.step = .requestBody
                    return .wait
                }
                exchange.roundProgressed = false
                if exchange.responseStarted { deadline = env.now &+ link.responseTimeout }
                step = .requestBody
            }
        }
    }

    // MARK: - The request body

    mutating func requestBodyStep(_ exchange: Exchange, _ link: UpstreamLink, _ env: ConnectionEnvironment,
                                          mayTakeRelay: Bool) -> ClientAction? {
        switch exchange.requestStage {
        case .unsent, .sentReplayable, .sent:
            return nil
        case .splicing(let relay):
            // Request bodies always have an end (a span has a length); 0 left to read: the pipe drains.
            guard let limit = Self.spliceLimit(exchange.requestBody) else { return nil }
            return .splice(Lent(relay), .requestBody, upstream: Lent(link.connection), limit: limit)
        case .copying:
            let input = exchange.buffers.input, output = link.output
            if mayTakeRelay && input.isEmpty && output.isEmpty && wantsSplice(exchange.requestBody, link, env) {
                return .takeRelay(.requestBody)
            }
            let cursor = exchange.bodyCursor
            switch exchange.requestBody.move(from: input, cursor: &exchange.bodyCursor, to: output) {
            case .progressed:
                exchange.requestBodyBytes &+= exchange.bodyCursor - cursor
                exchange.roundProgressed = true
                input.readIndex = exchange.bodyCursor
                if input.isEmpty {
                    input.reset()
                    exchange.bodyCursor = 0
                }
            case .stalled:
                break
            case .malformed(let error):
                return respond(error.status, .malformedRequestBody(error), exchange, link, env)
            }
            if exchange.requestBody.isDone {
                exchange.requestStage = .sent
                return nil
            }
            // A span to splice waits for the upstream's buffer to flush rather than being read here.
            if input.isEmpty && readable && !(wantsSplice(exchange.requestBody, link, env) && !output.isEmpty) {
                return .readClient(input.tail)
            }
            return nil
        }
    }

    mutating func requestBodyRead(_ result: IOResult, _ exchange: Exchange, _ link: UpstreamLink,
                                  _ env: ConnectionEnvironment) -> ClientAction {
        switch result {
        case .bytes(let n):
            exchange.buffers.input.writeIndex += n
            deadline = env.now &+ link.responseTimeout
            exchange.roundProgressed = true
        case .wouldBlock:
            break
        case .endOfFile, .failed:
            return keep(closing(abort: true, .clientClosedDuringBody), exchange, link)
        }
        return exchangeNext(exchange, link, env)
    }

    mutating func requestWritten(_ result: IOResult, _ exchange: Exchange, _ link: UpstreamLink,
                                 _ env: ConnectionEnvironment) -> ClientAction {
        switch result {
        case .bytes(let n):
            link.output.consume(n)
            exchange.roundProgressed = true
        case .wouldBlock:
            break
        case .endOfFile, .failed:
            return upstreamLost(.writeFailed, exchange, link, env)
        }
        return exchangeNext(exchange, link, env)
    }

    // MARK: - The response head

    /// Parses what the upstream sent and reads more until the final head is complete; interim heads are
    /// relayed on the way. Returns nil to let the round go on.
    private mutating func responseHeadStep(_ exchange: Exchange, _ link: UpstreamLink, _ env: ConnectionEnvironment) -> ClientAction? {
        let input = link.input
        while true {
            if !input.isEmpty {
                switch ResponseHeadParser.parse(input.pending, requestMethod: exchange.request.method,
                                                limits: env.settings.limits, fields: env.responseFields) {
                case .complete(let head):
                    if head.status >= 100 && head.status < 200 && head.status != 101 {
                        switch relayInterim(head, exchange, link, env) {
                        case .relayed: continue
                        case .waitForRoom: return nil
                        case .failed(let action): return action
                        }
                    }
                    return startResponse(head, exchange, link, env)
                case .failed(let error):
                    return respond(502, .malformedResponse(error, Lent(link.target)), exchange, link, env)
                case .incomplete:
                    if input.freeSpace == 0 { input.compact() }
                }
            }
            guard link.connection.readable, input.freeSpace > 0 else { return nil }
            return .readUpstream(fd: link.connection.fd, upstreamReadRegion(input))
        }
    }

    private enum InterimOutcome {
        case relayed
        /// The client's output has no room for it yet; room comes back as the client reads.
        case waitForRoom
        case failed(ClientAction)
    }

    /// Relays a 1xx (100 Continue, 103 Early Hints) to HTTP/1.1 clients, rewritten like a final head (hop-by-hop
    /// fields and Content-Length dropped); HTTP/1.0 clients must not see them. More than `maxInterimResponses`
    /// for one request end the exchange with a 502: an upstream streaming 1xx heads would otherwise hold the
    /// client (and the worker) for as long as it likes.
    private mutating func relayInterim(_ head: ResponseHead, _ exchange: Exchange, _ link: UpstreamLink,
                                       _ env: ConnectionEnvironment) -> InterimOutcome {
        guard case .awaitingHead(let interims) = exchange.responseStage else { preconditionFailure("interim after head") }
        guard interims < Self.maxInterimResponses else {
            return .failed(respond(502, .tooManyInterimResponses(Lent(link.target)), exchange, link, env))
        }
        if exchange.request.version == .http11 {
            let output = exchange.buffers.output
            guard let written = ResponseHeadWriter.write(head, fields: env.responseFields, source: link.input.pending,
                                                         closeAfter: false, into: output.tail) else {
                if !output.isEmpty { return .waitForRoom }
                return .failed(respond(502, .interimHeadTooLarge(Lent(link.target)), exchange, link, env))
            }
            output.writeIndex += written
        }
        exchange.responseStage = .awaitingHead(interims: interims + 1)
        link.input.consume(head.headLength)
        exchange.roundProgressed = true
        return .relayed
    }

    /// The final head: rewritten into the client's output; the body follows, or the connection becomes a tunnel.
    private mutating func startResponse(_ head: ResponseHead, _ exchange: Exchange, _ link: UpstreamLink,
                                        _ env: ConnectionEnvironment) -> ClientAction? {
        let output = exchange.buffers.output
        let request = exchange.request
        if head.isUpgrade && !request.isUpgrade {
            return respond(502, .unexpectedProtocolSwitch(Lent(link.target)), exchange, link, env)
        }
        let dechunk = request.version == .http10 && head.framing == .chunked
        let closeAfter = exchange.closeAfterResponse || !exchange.requestComplete || head.framing == .untilClose
            || dechunk
        guard let written = ResponseHeadWriter.write(head, fields: env.responseFields, source: link.input.pending,
                                                     closeAfter: closeAfter && !head.isUpgrade, dechunkForHTTP10: dechunk,
                                                     announceKeepAlive: request.version == .http10 && !closeAfter,
                                                     extraFields: exchange.setCookie, into: output.tail) else {
            if !output.isEmpty { return nil }  // an interim response is still being flushed
            return respond(502, .responseHeadTooLarge(Lent(link.target)), exchange, link, env)
        }
        output.writeIndex += written
        link.input.consume(head.headLength)
        exchange.responseHeadAt = env.now
        exchange.closeAfterResponse = closeAfter
        exchange.roundProgressed = true
        deadline = env.now &+ link.responseTimeout
        if head.isUpgrade { return upgrade(head.status, exchange, link, env) }
        exchange.responseBody = BodyTransfer(framing: head.framing, reframeChunked: !dechunk)
        let response = ResponseFacts(status: head.status, upstreamReusable: head.keepAlive && head.framing != .untilClose)
        exchange.responseStage = exchange.responseBody.isDone ? .complete(response) : .copying(response)
        // A response ends the target's run of failures, unless it counts as one (the worker's to record).
        return link.target.recordResponse(status: head.status) ? nil : .failingResponse(Lent(link.target))
    }

    mutating func responseRead(_ result: IOResult, _ exchange: Exchange, _ link: UpstreamLink,
                               _ env: ConnectionEnvironment) -> ClientAction {
        guard case .awaitingHead = exchange.responseStage else { return responseBodyRead(result, exchange, link, env) }
        switch result {
        case .bytes(let n):
            link.input.writeIndex += n
            exchange.upstreamBytesReceived += n
            exchange.roundProgressed = true
            exchange.step = .responseHead  // parse what came, and read on while the head is incomplete
        case .wouldBlock:
            break
        case .endOfFile, .failed:
            return upstreamLost(.closedBeforeResponse, exchange, link, env)
        }
        return exchangeNext(exchange, link, env)
    }

    // MARK: - The response body

    mutating func responseBodyStep(_ exchange: Exchange, _ link: UpstreamLink, _ env: ConnectionEnvironment,
                                           mayTakeRelay: Bool) -> ClientAction? {
        switch exchange.responseStage {
        case .awaitingHead, .complete:
            return nil
        case .splicing(let relay, _):
            return .splice(Lent(relay), .responseBody, upstream: Lent(link.connection),
                           limit: Self.spliceLimit(exchange.responseBody))
        case .copying(let response):
            let input = link.input, output = exchange.buffers.output
            if mayTakeRelay && input.isEmpty && output.isEmpty && wantsSplice(exchange.responseBody, link, env) {
                return .takeRelay(.responseBody)
            }
            var cursor = input.readIndex
            switch exchange.responseBody.move(from: input, cursor: &cursor, to: output) {
            case .progressed:
                exchange.roundProgressed = true
                input.consume(cursor - input.readIndex)
                if exchange.responseBody.isDone {
                    exchange.responseStage = .complete(response)
                    return nil
                }
            case .stalled:
                break
            case .malformed(let error):
                return abortResponse(.malformedResponseBody(error, Lent(link.target)), exchange, link, env)
            }
            // A span to splice (say the chunk whose header was just written) waits for the client's buffer to
            // flush rather than being read here: the header must go out before its data.
            if input.isEmpty && link.connection.readable && !(wantsSplice(exchange.responseBody, link, env) && !output.isEmpty) {
                return .readUpstream(fd: link.connection.fd, upstreamReadRegion(input))
            }
            return nil
        }
    }

    private mutating func responseBodyRead(_ result: IOResult, _ exchange: Exchange, _ link: UpstreamLink,
                                           _ env: ConnectionEnvironment) -> ClientAction {
        guard case .copying(var response) = exchange.responseStage else {
            preconditionFailure("response body read while splicing")
        }
        switch result {
        case .bytes(let n):
            link.input.writeIndex += n
            deadline = env.now &+ link.responseTimeout
            exchange.roundProgressed = true
        case .wouldBlock:
            break
        case .endOfFile:
            guard case .untilClose = exchange.responseBody else {
                return abortResponse(.upstreamClosedMidResponse(Lent(link.target)), exchange, link, env)
            }
            response.upstreamReusable = false
            exchange.responseBody = .done
            exchange.responseStage = .complete(response)
            exchange.roundProgressed = true
        case .failed(let err):
            return abortResponse(.upstreamFailedMidResponse(Lent(link.target), errno: err), exchange, link, env)
        }
        return exchangeNext(exchange, link, env)
    }

    mutating func responseWritten(_ result: IOResult, _ exchange: Exchange, _ link: UpstreamLink,
                                  _ env: ConnectionEnvironment) -> ClientAction {
        switch result {
        case .bytes(let n):
            exchange.buffers.output.consume(n)
            exchange.responseBytesWritten &+= n
            exchange.roundProgressed = true
        case .wouldBlock:
            break
        case .endOfFile, .failed:
            return keep(.close(abort: false), exchange, link)
        }
        return exchangeNext(exchange, link, env)
    }

    // MARK: - Ends

    /// The response is delivered: the upstream goes back to its pool if reusable, and the client waits for its
    /// next request (pipelined bytes stay) or closes.
    private mutating func finishExchange(_ exchange: Exchange, _ link: UpstreamLink, _ env: ConnectionEnvironment) -> ClientAction {
        guard case .complete(let response) = exchange.responseStage else { preconditionFailure("finished without a response") }
        let duration = env.now &- exchange.requestStart
        let requestComplete = exchange.requestComplete
        let reuse = response.upstreamReusable && requestComplete && link.input.isEmpty
            && link.output.isEmpty
        var idle = false
        if exchange.closeAfterResponse || !requestComplete {
            beginClosing(exchange.buffers, linger: !Self.closesWithoutLinger(exchange, input: exchange.buffers.input), env)
        } else {
            let input = exchange.buffers.input
            if exchange.headPinned { input.readIndex = exchange.bodyCursor }
            if input.isEmpty && !readable {
                goIdle(exchange.buffers, env)  // what reading would come to, without a turn
                idle = true
            } else {
                state = .readingHead(exchange.buffers)  // a pipelined request, or bytes to read
                deadline = env.now &+ env.settings.clientIdleTimeout
            }
        }
        noteAccess(exchange, status: response.status, bytesOut: exchange.responseBytesWritten, env)
        release(link, exchange.relays)
        env.pool.give(exchange)
        return .finishExchange(status: response.status, duration: duration, reuse: reuse, idle: idle)
    }

    /// The upstream switched protocols: the exchange ends and the connection becomes a tunnel, with the bytes
    /// after the request head going up and those after the response head coming down.
    private mutating func upgrade(_ status: UInt16, _ exchange: Exchange, _ link: UpstreamLink,
                                  _ env: ConnectionEnvironment) -> ClientAction {
        let duration = env.now &- exchange.requestStart
        if exchange.headPinned { exchange.buffers.input.readIndex = exchange.bodyCursor }
        noteAccess(exchange, status: status, bytesOut: exchange.responseBytesWritten, env)
        let tunnel = env.pool.takeTunnel(buffers: exchange.buffers, link: link)
        if case .splicing(let relay) = exchange.requestStage { tunnel.upward.relay = relay }
        env.pool.give(exchange)
        state = .tunnel(tunnel)
        deadline = env.now &+ env.settings.clientIdleTimeout
        return .upgraded(Lent(link.target), status: status, counters: Lent(link.counters), duration: duration)
    }

    /// The upstream's response broke off. If nothing of it reached the client yet, the client gets a clean 502;
    /// otherwise what is buffered is passed on and the connection is reset, so the client sees an aborted
    /// response, never a short one that looks whole.
    mutating func abortResponse(_ failure: ConnectionFailure, _ exchange: Exchange, _ link: UpstreamLink,
                                        _ env: ConnectionEnvironment) -> ClientAction {
        let output = exchange.buffers.output
        guard exchange.responseBytesWritten == 0 else {
            return keep(closing(abort: true, failure, flushing: output.pending), exchange, link)
        }
        output.reset()
        return respond(502, failure, exchange, link, env, replacingResponse: true)
    }

    /// The upstream went away before a response: a safe request (idempotent, no body, nothing received) is sent
    /// once more, to another target when the group has one; otherwise 502. Whatever the connection's age the
    /// retry goes elsewhere: the target may have just died, and every pooled connection to it with it. A reused
    /// connection most likely timed out idle, though, so it is not counted against the target, and a group with
    /// no other target retries it on a new connection.
    mutating func upstreamLost(_ loss: UpstreamLoss, _ exchange: Exchange, _ link: UpstreamLink,
                                       _ env: ConnectionEnvironment) -> ClientAction {
        let target = link.target
        let reused = link.connection.completedExchanges > 0
        let retry = exchange.headPinned && exchange.request.method.isIdempotent && exchange.upstreamBytesReceived == 0
            && exchange.attempts < 2
        let failure = ConnectionFailure.upstreamLost(Lent(target), loss, reused: reused, retry: retry)
        guard retry else { return respond(502, failure, exchange, link, env) }
        state = .routing(exchange, excluding: target, orExcluded: reused)
        release(link)
        return failing(failure, answer: nil)
    }
}
