import Glibc
import TurnoutHTTP1
import TurnoutPosix

extension Worker {
    /// Interim (1xx) responses relayed for one request before the exchange fails with a 502: room
    /// for a 100 Continue and a few 103 Early Hints, not for an upstream that never gets to the point.
    static let maxInterimResponses = 10

    /// One pass over an exchange: request body out, response head and body back.
    func stepExchange(_ client: ClientConnection) -> Bool {
        guard let upstream = client.upstream else { return false }
        var progressed = false
        if !client.requestBody.isDone {
            switch forwardRequestBody(client, upstream) {
            case .progressed: progressed = true
            case .stalled: break
            case .finished: return true
            }
        }
        switch flush(upstream) {
        case .progressed: progressed = true
        case .stalled: break
        case .finished:
            upstreamFailedBeforeResponse(client, reason: "upstream write failed")
            return true
        }
        if !client.responseStarted {
            switch receiveResponseHead(client, upstream) {
            case .progressed: progressed = true
            case .stalled: break
            case .finished: return true
            }
        }
        if client.responseStarted && !client.responseBody.isDone {
            switch forwardResponseBody(client, upstream) {
            case .progressed: progressed = true
            case .stalled: break
            case .finished: return true
            }
        }
        switch flush(client) {
        case .progressed: progressed = true
        case .stalled: break
        case .finished: return true
        }
        if client.phase == .exchanging && client.responseStarted && client.responseBody.isDone && client.output!.isEmpty {
            finishExchange(client)
            return true
        }
        if progressed && client.responseStarted { client.deadline = now &+ client.upstreamResponseTimeout }
        return progressed
    }

    /// The result of one sub-step: moved bytes, could not move, or ended the exchange
    /// (the connection was closed or changed phase).
    enum StepOutcome { case progressed, stalled, finished }

    private func forwardRequestBody(_ client: ClientConnection, _ upstream: UpstreamConnection) -> StepOutcome {
        guard upstream.connected, !client.headPinned else { return .stalled }
        let input = client.input!
        if let relay = client.requestRelay ?? startRelay(for: client.requestBody, input: input, output: upstream.output!) {
            client.requestRelay = relay
            return spliceRequestBody(client, upstream, relay)
        }
        var progressed = false
        switch client.requestBody.move(from: input, cursor: &client.bodyCursor, to: upstream.output!) {
        case .progressed:
            progressed = true
            input.readIndex = client.bodyCursor
            if input.isEmpty {
                input.reset()
                client.bodyCursor = 0
            }
        case .stalled:
            break
        case .malformed(let error):
            logger.info("rejected request body: \(error.reason)", metadata: ["client": "\(peerDescription(client))"])
            respondWithError(client, status: error.status)
            return .finished
        }
        // A span to splice waits for the upstream's buffer to flush rather than being read here.
        if !client.requestBody.isDone && input.isEmpty && client.readable
            && !(wantsSplice(client.requestBody) && !upstream.output!.isEmpty) {
            switch readSocket(client.fd, into: input.base + input.writeIndex, count: input.freeSpace,
                               readable: &client.readable, hangUpSignalled: client.hangUpSignalled) {
            case .bytes(let n):
                input.writeIndex += n
                client.deadline = now &+ client.upstreamResponseTimeout
                progressed = true
            case .wouldBlock:
                client.readable = false
            case .endOfFile, .failed:
                logger.info("client closed during the request body", metadata: ["client": "\(peerDescription(client))"])
                closeClient(client, abort: true)
                return .finished
            }
        }
        return progressed ? .progressed : .stalled
    }

    private func receiveResponseHead(_ client: ClientConnection, _ upstream: UpstreamConnection) -> StepOutcome {
        let input = upstream.input!
        var progressed = false
        while true {
            if !input.isEmpty {
                switch ResponseHeadParser.parse(input.pending, requestMethod: client.request!.method,
                                                limits: settings.limits, fields: responseFields) {
                case .complete(let head):
                    if head.status >= 100 && head.status < 200 && head.status != 101 {
                        switch forwardInterim(client, upstream, head: head) {
                        case .progressed: progressed = true
                        case .stalled: return progressed ? .progressed : .stalled
                        case .finished: return .finished
                        }
                        continue
                    }
                    return startResponse(client, upstream, head: head)
                case .failed(let error):
                    logger.warning("malformed upstream response: \(error.reason)", metadata: ["target": "\(upstream.target.key)"])
                    respondWithError(client, status: 502)
                    return .finished
                case .incomplete:
                    if input.freeSpace == 0 { input.compact() }
                }
            }
            guard upstream.readable, input.freeSpace > 0 else { return progressed ? .progressed : .stalled }
            switch readSocket(upstream.fd, into: input.base + input.writeIndex, count: input.freeSpace,
                               readable: &upstream.readable, hangUpSignalled: upstream.hangUpSignalled) {
            case .bytes(let n):
                input.writeIndex += n
                upstream.responseBytes += n
                progressed = true
            case .wouldBlock:
                upstream.readable = false
                return progressed ? .progressed : .stalled
            case .endOfFile, .failed:
                upstreamFailedBeforeResponse(client, reason: "upstream closed before responding")
                return .finished
            }
        }
    }

    /// Relays a 1xx (100 Continue, 103 Early Hints) to HTTP/1.1 clients, rewritten like a final head
    /// (hop-by-hop fields and Content-Length dropped); HTTP/1.0 clients must not see them. Stalls
    /// while the client's buffer lacks room. More than `maxInterimResponses` for one request end
    /// the exchange with a 502: an upstream streaming 1xx heads would otherwise hold the client
    /// (and this worker) for as long as it likes.
    private func forwardInterim(_ client: ClientConnection, _ upstream: UpstreamConnection, head: ResponseHead) -> StepOutcome {
        let input = upstream.input!
        guard client.interimResponses < Worker.maxInterimResponses else {
            logger.warning("too many interim responses; giving up on the upstream", metadata: [
                "target": "\(upstream.target.key)", "limit": "\(Worker.maxInterimResponses)",
            ])
            respondWithError(client, status: 502)
            return .finished
        }
        if client.request!.version == .http11 {
            let output = client.output!
            guard let written = ResponseHeadWriter.write(head, fields: responseFields, source: input.pending,
                                                         closeAfter: false, into: output.tail) else {
                if !output.isEmpty { return .stalled }  // room comes back as the client reads
                logger.warning("rewritten interim head does not fit the buffer", metadata: ["target": "\(upstream.target.key)"])
                respondWithError(client, status: 502)
                return .finished
            }
            output.writeIndex += written
        }
        client.interimResponses += 1
        input.consume(head.headLength)
        return .progressed
    }

    private func startResponse(_ client: ClientConnection, _ upstream: UpstreamConnection, head: ResponseHead) -> StepOutcome {
        let request = client.request!
        let output = client.output!
        let input = upstream.input!
        if head.isUpgrade && !request.isUpgrade {
            logger.warning("upstream switched protocols without an upgrade request", metadata: ["target": "\(upstream.target.key)"])
            respondWithError(client, status: 502)
            return .finished
        }
        let dechunk = request.version == .http10 && head.framing == .chunked
        let closeAfter = client.closeAfterResponse || !client.requestBody.isDone || head.framing == .untilClose || dechunk
        guard let written = ResponseHeadWriter.write(head, fields: responseFields, source: input.pending,
                                                     closeAfter: closeAfter && !head.isUpgrade, dechunkForHTTP10: dechunk,
                                                     announceKeepAlive: request.version == .http10 && !closeAfter,
                                                     into: output.tail) else {
            if !output.isEmpty { return .stalled }  // an interim response is still being flushed
            logger.warning("rewritten response head does not fit the buffer", metadata: ["target": "\(upstream.target.key)"])
            respondWithError(client, status: 502)
            return .finished
        }
        output.writeIndex += written
        input.consume(head.headLength)
        recordTargetResponse(upstream.target, status: head.status)
        client.responseStatus = head.status
        client.responseStarted = true
        client.closeAfterResponse = closeAfter
        client.upstreamReusable = head.keepAlive && head.framing != .untilClose
        client.deadline = now &+ client.upstreamResponseTimeout
        if head.isUpgrade {
            client.routeCounters?.recordResponse(status: Int(head.status), durationNanoseconds: now &- client.requestStart)
            unpinHead(client)
            client.phase = .tunnel
            client.deadline = now &+ settings.clientIdleTimeout
            return .progressed
        }
        client.responseBody = BodyTransfer(framing: head.framing, reframeChunked: !dechunk)
        return .progressed
    }

    private func forwardResponseBody(_ client: ClientConnection, _ upstream: UpstreamConnection) -> StepOutcome {
        let input = upstream.input!
        if let relay = client.responseRelay ?? startRelay(for: client.responseBody, input: input, output: client.output!) {
            client.responseRelay = relay
            return spliceResponseBody(client, upstream, relay)
        }
        var progressed = false
        var cursor = input.readIndex
        switch client.responseBody.move(from: input, cursor: &cursor, to: client.output!) {
        case .progressed:
            progressed = true
            input.consume(cursor - input.readIndex)
        case .stalled:
            break
        case .malformed(let error):
            logger.warning("malformed upstream response body: \(error.reason)", metadata: ["target": "\(upstream.target.key)"])
            abortResponse(client)
            return .finished
        }
        // A span to splice (say the chunk whose header was just written) waits for the client's
        // buffer to flush rather than being read here: the header must go out before its data.
        if !client.responseBody.isDone && input.isEmpty && upstream.readable
            && !(wantsSplice(client.responseBody) && !client.output!.isEmpty) {
            switch readSocket(upstream.fd, into: input.base + input.writeIndex, count: input.freeSpace,
                               readable: &upstream.readable, hangUpSignalled: upstream.hangUpSignalled) {
            case .bytes(let n):
                input.writeIndex += n
                client.deadline = now &+ client.upstreamResponseTimeout
                progressed = true
            case .wouldBlock:
                upstream.readable = false
            case .endOfFile:
                if case .untilClose = client.responseBody {
                    client.responseBody = .done
                    client.upstreamReusable = false
                    progressed = true
                } else {
                    logger.warning("upstream closed mid-response", metadata: ["target": "\(upstream.target.key)"])
                    abortResponse(client)
                    return .finished
                }
            case .failed(let err):
                logger.warning("upstream failed mid-response", metadata: ["target": "\(upstream.target.key)", "errno": "\(err)"])
                abortResponse(client)
                return .finished
            }
        }
        return progressed ? .progressed : .stalled
    }

    /// Writes what is pending toward the upstream.
    func flush(_ upstream: UpstreamConnection) -> StepOutcome {
        guard let output = upstream.output, !output.isEmpty, upstream.connected, upstream.writable else { return .stalled }
        switch FileIO.write(upstream.fd, from: output.base + output.readIndex, count: output.pendingCount) {
        case .bytes(let n):
            output.consume(n)
            return .progressed
        case .wouldBlock:
            upstream.writable = false
            return .stalled
        case .endOfFile, .failed:
            return .finished
        }
    }

    /// Writes what is pending toward the client; closes it if it went away.
    func flush(_ client: ClientConnection) -> StepOutcome {
        guard let output = client.output, !output.isEmpty, client.writable else { return .stalled }
        switch FileIO.write(client.fd, from: output.base + output.readIndex, count: output.pendingCount) {
        case .bytes(let n):
            output.consume(n)
            client.responseBytesWritten &+= n
            return .progressed
        case .wouldBlock:
            client.writable = false
            return .stalled
        case .endOfFile, .failed:
            closeClient(client)
            return .finished
        }
    }

    /// The response is fully delivered: recycle the upstream and wait for the next request.
    private func finishExchange(_ client: ClientConnection) {
        guard let upstream = client.upstream else { return }
        client.routeCounters?.recordResponse(status: Int(client.responseStatus), durationNanoseconds: now &- client.requestStart)
        let reusable = client.upstreamReusable && client.requestBody.isDone && !upstream.peerClosedInput
            && (upstream.input?.isEmpty ?? true) && (upstream.output?.isEmpty ?? true)
        detach(upstream, from: client)
        if reusable { park(upstream) } else { closeUpstream(upstream) }
        if client.closeAfterResponse || !client.requestBody.isDone {
            beginClosing(client)
            return
        }
        unpinHead(client)
        client.resetExchange()
        client.phase = .readingHead
        client.deadline = now &+ settings.clientIdleTimeout
    }

    /// The upstream's response broke off. If nothing of it reached the client yet, the
    /// client gets a clean 502; otherwise what is buffered is passed on and the connection
    /// is reset, so the client sees an aborted response, never a short one that looks whole.
    func abortResponse(_ client: ClientConnection) {
        if client.responseBytesWritten == 0 {
            client.output?.reset()
            client.responseStarted = false
            respondWithError(client, status: 502)
            return
        }
        _ = flush(client)
        if client.fd >= 0 { closeClient(client, abort: true) }
    }

    /// The upstream went away before a response: replay safe requests once, on another target
    /// when the group has one, else 502.
    func upstreamFailedBeforeResponse(_ client: ClientConnection, reason: StaticString) {
        guard let upstream = client.upstream, let request = client.request else { return }
        let wasReused = upstream.completedExchanges > 0
        let target = upstream.target
        let canRetry = client.headPinned && request.method.isIdempotent && upstream.responseBytes == 0 && client.attempts < 2
        logger.info("\(reason)", metadata: ["target": "\(target.key)", "retry": "\(canRetry)"])
        if !wasReused { recordTargetFailure(target) }
        detach(upstream, from: client)
        closeUpstream(upstream)
        if canRetry {
            // Whatever the connection's age the retry goes elsewhere: the target may have just died,
            // and every pooled connection to it with it. A reused connection most likely timed out
            // idle, though, so it is not counted against the target, and a group with no other
            // target retries it on a new connection.
            route(client, excluding: target, orExcluded: wasReused)
        } else {
            respondWithError(client, status: 502)
        }
    }
}
