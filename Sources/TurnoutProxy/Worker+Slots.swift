import TurnoutPosix

extension Worker {
    /// A client connection object for `fd`, from the free list when possible, in its slot.
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
        client.hangUpSignalled = false
        clients[slot] = client
        clientCount += 1
        return client
    }

    /// Closes a client connection and everything attached to it, and recycles it.
    /// `abort` sends a RST so the peer cannot mistake a cut-off response for a complete one.
    func closeClient(_ client: ClientConnection, abort: Bool = false) {
        guard client.fd >= 0 else { return }
        // An exchange that did not finish leaves its upstream connection in an unknown state: it closes.
        dispose(client.machine.close(environment), reuse: false)
        if let tls = client.tls {
            // A whole close says so; an abort must look cut short.
            if !abort { tls.sendCloseNotify() }
            client.tls = nil
        }
        if abort { Socket.setAbortOnClose(client.fd) }
        listenerCounters[client.listenerIndex].connectionClosed()
        FileIO.close(client.fd)
        client.fd = -1
        clients[client.slot] = nil
        freeClientSlots.append(client.slot)
        clientCount -= 1
        _ = spareClients.push(client)
        resumeAcceptingIfPaused()
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

    /// Closes an upstream connection that no client and no pool holds, and recycles it.
    func closeUpstream(_ upstream: UpstreamConnection) {
        guard upstream.fd >= 0 else { return }
        upstream.tls = nil
        FileIO.close(upstream.fd)
        upstream.fd = -1
        upstreams[upstream.slot] = nil
        freeUpstreamSlots.append(upstream.slot)
        _ = spareUpstreams.push(upstream)
    }
}
