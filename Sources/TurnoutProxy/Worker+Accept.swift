import Glibc
import TurnoutPosix

extension Worker {
    /// Readiness a client or upstream socket is registered for, once: both directions and the
    /// peer's hang-up, edge-triggered. A constant, because an option-set literal builds an
    /// array each time it is evaluated in unoptimised builds.
    static let connectionEvents: EpollEvents = [.readable, .writable, .readHangUp, .edgeTriggered]

    /// Connections a worker accepts from one listener per loop turn. Each accepted connection is driven at once
    /// (on an HTTPS listener, its handshake stepped), so an unbounded accept puts a burst of new connections
    /// ahead of the requests of those already open (nginx takes one per event, HAProxy `tune.maxaccept`).
    /// The rest wait in the kernel's backlog: the listener is level-triggered, so the next `epoll_wait`
    /// reports it again without a new edge.
    static let acceptsPerTurn = 8

    /// Accepts the connections pending on the listeners that were ready in this batch, after the batch's
    /// other events: requests on open connections go before new connections.
    func acceptOnReadyListeners() {
        // By index, not `for in`: an iterator holding the array would make `removeAll` allocate a new buffer.
        var i = 0
        while i < readyListeners.count && !acceptPaused {
            acceptConnections(listeners[readyListeners[i]])
            i += 1
        }
        readyListeners.removeAll(keepingCapacity: true)
    }

    /// Accepts up to `acceptsPerTurn` pending connections on `listener`, fewer at EAGAIN or the worker's
    /// connection limit. Out of descriptors, the listeners pause (see `Worker+ResourceShortage`).
    func acceptConnections(_ listener: ListenerSocket) {
        var peer = SocketAddress(storage: sockaddr_storage(), length: 0)
        var accepted = 0
        while accepted < Worker.acceptsPerTurn {
            guard clientCount < settings.maxConnections else {
                pauseAccepting()
                return
            }
            accepted += 1
            let (fd, err) = Socket.accept(listener.fd, peer: &peer)
            if fd < 0 {
                if SystemError.isLocalResourceShortage(err) {
                    pauseAcceptingForResources(errno: err)
                } else if err != EAGAIN && err != EWOULDBLOCK && err != ECONNABORTED {
                    logger.warning("accept failed", metadata: ["errno": .stringConvertible(err)])
                }
                return
            }
            let client = makeClient(fd: fd)
            client.listenerIndex = listener.listenerIndex
            listenerCounters[listener.listenerIndex].connectionOpened()
            client.peerHostLength = peer.formatHost(into: client.peerHost)
            (client.peerHigh, client.peerLow) = peer.mappedIPv6Halves
            let secure = listener.tls != nil
            if secure {
                guard let context = tlsContext(for: listener), let session = context.makeSession(fd: fd) else {
                    closeClient(client)
                    continue
                }
                client.tls = session
            }
            client.machine = ClientStateMachine(peerAddress: client.peerHostBytes, listenerPort: listener.port,
                                                secure: secure, redirectToHTTPSPort: listener.redirectToHTTPSPort,
                                                now: now, settings: settings,
                                                recordsAccess: accessLogs[listener.listenerIndex] != nil)
            // Registered once, edge-triggered for both directions: no epoll_ctl per request.
            do {
                try epoll.add(fd, Worker.connectionEvents,
                              token: EventToken(.client, slot: client.slot, generation: client.slotGeneration).raw)
            } catch {
                logger.warning("epoll registration failed", metadata: ["error": "\(error)"])
                closeClient(client)
                continue
            }
            // The request often arrives with the handshake: read it now rather than after
            // another epoll round (an EAGAIN read when it has not).
            client.machine.readable = true
            drive(client)
        }
    }

    /// Stops watching the listeners while the worker is at its connection limit.
    func pauseAccepting() {
        guard !acceptPaused else { return }
        acceptPaused = true
        for listener in listeners { epoll.remove(listener.fd) }
        logger.warning("connection limit reached; pausing accept", metadata: ["limit": .stringConvertible(settings.maxConnections)])
    }

    /// Watches the listeners again once a connection slot is free, unless they wait out a shortage of
    /// descriptors (the tick retries those).
    func resumeAcceptingIfPaused() {
        guard acceptPaused, !draining, acceptRetryAt == 0, clientCount < settings.maxConnections else { return }
        acceptPaused = false
        for (i, listener) in listeners.enumerated() {
            try? epoll.add(listener.fd, [.readable], token: EventToken(.listener, slot: i).raw)
        }
    }
}
