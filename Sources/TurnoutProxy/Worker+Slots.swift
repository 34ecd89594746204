import TurnoutPosix

extension Worker {
    /// A client connection object for `fd`, from the free list when possible.
    func makeClient(fd: Int32) -> ClientConnection {
        let client = spareClients.pop() ?? ClientConnection()
        let slot: Int
        if let free = freeClientSlots.popLast() {
            slot = free
        } else {
            slot = clients.count
            clients.append(nil)
            clientGenerations.append(0)
        }
        clientGenerations[slot] &+= 1
        client.fd = fd
        client.slot = slot
        client.slotGeneration = clientGenerations[slot] & 0x0FFF_FFFF
        client.readable = false
        client.writable = true
        client.peerClosedInput = false
        client.hangUpSignalled = false
        client.closeAfterResponse = false
        client.outputShut = false
        client.resetExchange()
        clients[slot] = client
        clientCount += 1
        return client
    }

    /// Closes a client connection and everything attached to it, and recycles it.
    /// `abort` sends a RST so the peer cannot mistake a cut-off response for a complete one.
    func closeClient(_ client: ClientConnection, abort: Bool = false) {
        guard client.fd >= 0 else { return }
        if let upstream = client.upstream {
            // The exchange did not finish: its upstream connection is in an unknown state.
            detach(upstream, from: client)
            closeUpstream(upstream)
        }
        release(client.requestRelay)
        release(client.responseRelay)
        client.requestRelay = nil
        client.responseRelay = nil
        if abort { Socket.setAbortOnClose(client.fd) }
        listenerCounters[client.listenerIndex].connectionClosed()
        FileIO.close(client.fd)
        client.fd = -1
        releaseBuffers(client)
        client.resetExchange()
        clients[client.slot] = nil
        freeClientSlots.append(client.slot)
        clientCount -= 1
        _ = spareClients.push(client)
        resumeAcceptingIfPaused()
    }

    /// Gives a client's buffers back to the pool (it is idle or closing).
    func releaseBuffers(_ client: ClientConnection) {
        if let input = client.input { pool.give(input); client.input = nil }
        if let output = client.output { pool.give(output); client.output = nil }
        if let fields = client.fields { pool.give(fields); client.fields = nil }
    }

    func takeBuffers(_ client: ClientConnection) {
        if client.input == nil { client.input = pool.takeBuffer() }
        if client.output == nil { client.output = pool.takeBuffer() }
        if client.fields == nil { client.fields = pool.takeTable() }
    }

    /// Registers a new upstream connection object for `fd`.
    func makeUpstream(fd: Int32, target: TargetState) -> UpstreamConnection {
        let upstream: UpstreamConnection
        if let spare = spareUpstreams.pop() {
            spare.reuse(for: target)
            upstream = spare
        } else {
            upstream = UpstreamConnection(target: target)
        }
        let slot: Int
        if let free = freeUpstreamSlots.popLast() {
            slot = free
        } else {
            slot = upstreams.count
            upstreams.append(nil)
            upstreamGenerations.append(0)
        }
        upstreamGenerations[slot] &+= 1
        upstream.fd = fd
        upstream.slot = slot
        upstream.slotGeneration = upstreamGenerations[slot] & 0x0FFF_FFFF
        upstreams[slot] = upstream
        return upstream
    }

    func closeUpstream(_ upstream: UpstreamConnection) {
        guard upstream.fd >= 0 else { return }
        FileIO.close(upstream.fd)
        upstream.fd = -1
        if let input = upstream.input { pool.give(input); upstream.input = nil }
        if let output = upstream.output { pool.give(output); upstream.output = nil }
        upstreams[upstream.slot] = nil
        freeUpstreamSlots.append(upstream.slot)
        // Every caller has unlinked it (from its client or its pool): it can serve a new connection.
        _ = spareUpstreams.push(upstream)
    }

    /// Closes a pooled (idle) upstream connection and removes it from its pool.
    func closePooled(_ upstream: UpstreamConnection) {
        let target = upstream.target
        if let i = target.idle.lastIndex(where: { $0 === upstream }) { target.idle.remove(at: i) }
        closeUpstream(upstream)
    }

    /// Unlinks an upstream connection from the client it served.
    func detach(_ upstream: UpstreamConnection, from client: ClientConnection) {
        upstream.client = nil
        client.upstream = nil
        if let target = client.target {
            target.outstanding -= 1
            client.routeCounters?.recordFinished()
            client.target = nil
        }
    }

    /// Returns a healthy, finished upstream connection to its target's pool.
    func park(_ upstream: UpstreamConnection) {
        upstream.completedExchanges += 1
        upstream.idleSince = now
        if let input = upstream.input { pool.give(input); upstream.input = nil }
        if let output = upstream.output { pool.give(output); upstream.output = nil }
        if upstream.target.keepsIdleConnections(now: now) && !draining {
            upstream.target.idle.append(upstream)
        } else {
            closeUpstream(upstream)
        }
    }
}
