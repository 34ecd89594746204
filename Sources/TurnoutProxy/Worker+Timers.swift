import TurnoutPosix

extension Worker {
    /// Runs on every tick (100 ms): times out connections whose state's deadline passed
    /// and closes pooled upstream connections idle for too long, or whose target's drain
    /// is over.
    ///
    /// A linear scan: cheap at the connection counts a worker holds, and free of any
    /// per-request bookkeeping. A timer wheel is the upgrade path if it shows in profiles.
    func expireDeadlines() {
        let now = self.now
        // A worker without traffic still takes new snapshots, so drains and pool
        // closures happen on time.
        if publisher.version != routing.version { routing.refresh(from: publisher.routing, worker: self) }
        retryAcceptingAfterShortage()
        ticks &+= 1
        if ticks % Worker.ticksPerPoolTrim == 0 { returnIdleMemory() }
        for slot in 0..<clients.count {
            guard let client = clients[slot] else { continue }
            if let target = client.machine.target, let drainDeadline = target.drainDeadline, drainDeadline <= now {
                // The target was deregistered and its delay is over: what is still open closes.
                logger.info("deregistration delay over; closing connection", metadata: [
                    "target": "\(target.key)", "phase": "\(client.machine.stateName)",
                ])
                closeClient(client, abort: !client.machine.isTunnel)
                continue
            }
            if client.machine.deadline <= now {
                if let tls = client.tls, !tls.established {
                    listenerCounters[client.listenerIndex].recordHandshakeFailure(.timeout)
                } else if let link = client.machine.connectingLink, link.connection.handshaking {
                    link.counters.recordTLSHandshakeFailure(.timeout)
                }
                drive(client, from: client.machine.timedOut(environment))
            }
        }
        expireMirrors()
        for slot in 0..<upstreams.count {
            guard let upstream = upstreams[slot], upstream.client == nil else { continue }
            if upstream.idleSince &+ settings.upstreamIdleTimeout <= now || !upstream.target.keepsIdleConnections(now: now) {
                closePooled(upstream)
            }
        }
    }

    /// Pool trims happen once a second (every ten ticks).
    static let ticksPerPoolTrim = 10
    /// Freed bytes that make the heap give its free pages back (a megabyte: a burst, not a trickle).
    static let heapTrimThreshold = 1 << 20

    /// Lets the buffer pool and the spare connection objects free what went unused, and once enough was
    /// freed asks the heap to give the pages back to the kernel: freed memory otherwise stays resident, at
    /// the peak a burst reached (a few live objects left among freed buffers pin their pages too, hence
    /// the spare objects' trim).
    private func returnIdleMemory() {
        pool.trim()
        spareClients.trim()
        spareUpstreams.trim()
        freedSinceHeapTrim &+= pool.takeFreedBytes()
        guard freedSinceHeapTrim >= Worker.heapTrimThreshold else { return }
        freedSinceHeapTrim = 0
        Heap.releaseFreePages()
    }
}
