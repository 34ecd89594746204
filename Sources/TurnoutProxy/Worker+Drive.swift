import Glibc
import TurnoutHTTP1
import TurnoutPosix

extension Worker {
    /// Advances a client connection (and its upstream) as far as readiness allows.
    /// Each step reports whether it made progress; the loop stops when none did, so
    /// edge-triggered readiness is always consumed to EAGAIN or to a full buffer; or
    /// when the turn's splice budget is spent, and then the connection is owed a turn.
    func drive(_ client: ClientConnection) {
        turnBudget = Worker.splicedBytesPerTurn
        defer {
            if turnBudget <= 0 && client.fd >= 0 {
                owedTurns.append(EventToken(.client, slot: client.slot, generation: client.slotGeneration))
            }
        }
        var rounds = 0
        while client.fd >= 0 && rounds < 1024 {
            rounds += 1
            let progressed: Bool
            switch client.phase {
            case .idle: progressed = stepIdle(client)
            case .readingHead: progressed = stepReadingHead(client)
            case .connecting: progressed = stepConnecting(client)
            case .exchanging: progressed = stepExchange(client)
            case .tunnel: progressed = stepTunnel(client)
            case .closing: progressed = stepClosing(client)
            }
            if !progressed { return }
        }
    }

    /// Keep-alive with nothing buffered: borrow buffers only once bytes are waiting.
    private func stepIdle(_ client: ClientConnection) -> Bool {
        guard client.readable else { return false }
        takeBuffers(client)
        client.phase = .readingHead
        return true
    }

    private func stepReadingHead(_ client: ClientConnection) -> Bool {
        let input = client.input!
        if !input.isEmpty {
            switch RequestHeadParser.parse(input.pending, limits: settings.limits, fields: client.fields!) {
            case .complete(let head):
                startExchange(client, head: head)
                return true
            case .failed(let error):
                logger.info("rejected request: \(error.reason)", metadata: ["status": "\(error.status)", "client": "\(peerDescription(client))"])
                respondWithError(client, status: error.status)
                return true
            case .incomplete:
                break
            }
        }
        guard client.readable else {
            if input.isEmpty { goIdle(client) }
            return false
        }
        if input.freeSpace == 0 { input.compact() }
        let wasEmpty = input.isEmpty
        switch readSocket(client.fd, into: input.base + input.writeIndex, count: input.freeSpace,
                           readable: &client.readable, hangUpSignalled: client.hangUpSignalled) {
        case .bytes(let n):
            input.writeIndex += n
            // The header timeout runs from the first byte of a request.
            if wasEmpty { client.deadline = now &+ settings.clientHeaderTimeout }
            return true
        case .wouldBlock:
            client.readable = false
            if input.isEmpty { goIdle(client) }
            return false
        case .endOfFile, .failed:
            closeClient(client)
            return false
        }
    }

    /// Parks a keep-alive connection with no buffered bytes: buffers go back to the pool.
    private func goIdle(_ client: ClientConnection) {
        guard client.phase != .idle else { return }
        releaseBuffers(client)
        client.phase = .idle
        client.deadline = now &+ settings.clientIdleTimeout
    }

    /// A complete request head: route it and start forwarding.
    private func startExchange(_ client: ClientConnection, head: RequestHead) {
        let input = client.input!
        client.request = head
        client.requestStart = now
        client.bodyCursor = input.readIndex + head.headLength
        client.headPinned = true
        client.requestBody = BodyTransfer(framing: head.framing)
        client.closeAfterResponse = !head.keepAlive || draining
        client.attempts = 0
        client.responseStarted = false
        client.responseBytesWritten = 0
        route(client, excluding: nil)
    }

    /// Picks a target and attaches an upstream connection (pooled or new).
    ///
    /// A retry passes the target that failed as `excluding`: another target is taken whenever the
    /// group has one. With `orExcluded` the failed target itself is the last resort (a reused
    /// connection that broke says little about its target: it may just have closed an idle
    /// connection), and then on a new connection, never on another of its pooled ones.
    func route(_ client: ClientConnection, excluding: TargetState?, orExcluded: Bool = false) {
        let listenerIndex = client.listenerIndex
        guard let (group, target, counters) = pickTarget(listenerIndex: listenerIndex, excluding: excluding)
                ?? (orExcluded ? pickTarget(listenerIndex: listenerIndex, excluding: nil) : nil) else {
            // On a retry the failure was the upstream's (502); on a first pick there is no target at all (503).
            let status: UInt16 = client.attempts > 0 ? 502 : 503
            logger.info("no target available", metadata: ["listener": "\(client.listenerIndex)", "status": "\(status)"])
            respondWithError(client, status: status)
            return
        }
        if client.attempts > 0 { listenerCounters[client.listenerIndex].recordRetry() }
        client.attempts += 1
        client.group = group
        client.target = target
        client.upstreamResponseTimeout = routing.groupResponseTimeouts[group]
        client.routeCounters = counters
        counters.recordStarted()
        target.outstanding += 1
        client.deadline = now &+ settings.connectTimeout
        // Most recent idle connection first: the least likely to have been closed by the target.
        if target !== excluding, let upstream = target.idle.popLast() {
            attach(upstream, to: client)
            client.phase = .exchanging
            sendRequestHead(client)
            return
        }
        let (fd, result) = Socket.connect(to: target.address)
        switch result {
        case .failed(let err) where SystemError.isLocalResourceShortage(err):
            answerResourceShortage(client, errno: err)
        case .failed(let err):
            connectFailed(client, errno: err)
        case .connected, .inProgress:
            let upstream = makeUpstream(fd: fd, target: target)
            attach(upstream, to: client)
            upstream.connected = result == .connected
            upstream.writable = upstream.connected
            do {
                try epoll.add(fd, Worker.connectionEvents,
                              token: EventToken(.upstream, slot: upstream.slot, generation: upstream.slotGeneration).raw)
            } catch {
                // The worker's own failure (no memory for the watch), never the target's.
                answerResourceShortage(client, errno: error.errno)
                return
            }
            if upstream.connected {
                client.phase = .exchanging
                sendRequestHead(client)
            } else {
                client.phase = .connecting
            }
        }
    }

    private func attach(_ upstream: UpstreamConnection, to client: ClientConnection) {
        upstream.client = client
        upstream.responseBytes = 0
        if upstream.input == nil { upstream.input = pool.takeBuffer() }
        if upstream.output == nil { upstream.output = pool.takeBuffer() }
        client.upstream = upstream
    }

    /// An upstream socket became writable while connecting: learn the outcome.
    func finishConnect(_ upstream: UpstreamConnection) {
        guard let client = upstream.client else { return }
        let err = Socket.pendingError(upstream.fd)
        if err != 0 {
            connectFailed(client, errno: err)
            return
        }
        upstream.connected = true
    }

    private func stepConnecting(_ client: ClientConnection) -> Bool {
        guard let upstream = client.upstream, upstream.connected else { return false }
        client.phase = .exchanging
        sendRequestHead(client)
        return true
    }

    /// Nothing was sent: retry once on another target, then 502.
    func connectFailed(_ client: ClientConnection, errno err: Int32) {
        let failed = client.target
        failed?.refusedUntil = now &+ settings.refusedBackoff
        if let failed { recordTargetFailure(failed) }
        client.routeCounters?.recordConnectError()
        logger.info("upstream connect failed", metadata: [
            "target": "\(failed.map { "\($0.key)" } ?? "-")", "errno": "\(err)", "attempt": "\(client.attempts)",
        ])
        if let upstream = client.upstream {
            detach(upstream, from: client)
            closeUpstream(upstream)
        } else if let target = client.target {
            target.outstanding -= 1
            client.routeCounters?.recordFinished()
            client.target = nil
        }
        if client.attempts < 2 {
            route(client, excluding: failed)
        } else {
            respondWithError(client, status: 502)
        }
    }

    /// Writes the rewritten request head into the upstream's output buffer.
    private func sendRequestHead(_ client: ClientConnection) {
        guard let upstream = client.upstream, let head = client.request else { return }
        let input = client.input!
        let output = upstream.output!
        let requestId: UnsafeRawBufferPointer? = head.hasRequestId ? nil : requestIds.next()
        let forwarded = ForwardedFor(clientAddress: client.peerHostBytes, proto: "http", port: client.listenerPort,
                                     requestId: requestId, targetAuthority: upstream.target.authority)
        guard let written = RequestHeadWriter.write(head, fields: client.fields!, source: input.bytes(from: input.readIndex),
                                                    forwarded: forwarded, into: output.tail) else {
            logger.info("rewritten request head does not fit the buffer")
            respondWithError(client, status: 431)
            return
        }
        output.writeIndex += written
        client.deadline = now &+ client.upstreamResponseTimeout
        if !client.requestBody.isDone {
            // Body bytes are about to be consumed: the request can no longer be replayed.
            unpinHead(client)
        }
    }

    func unpinHead(_ client: ClientConnection) {
        guard client.headPinned, let input = client.input else { return }
        client.headPinned = false
        input.readIndex = client.bodyCursor
    }

    func peerDescription(_ client: ClientConnection) -> String {
        String(decoding: client.peerHostBytes, as: UTF8.self)
    }
}
