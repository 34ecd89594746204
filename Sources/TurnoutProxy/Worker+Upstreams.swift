import TurnoutMetrics
import TurnoutPosix

/// Upstream connections for exchanges: routing a request to a pooled or new connection, and taking the
/// connection back when the exchange is done with it.
extension Worker {
    /// Picks a target and attaches an upstream connection (pooled or new), then tells the client's machine.
    ///
    /// A retry passes the target that failed as `excluding`: another target is taken whenever the group has one.
    /// With `orExcluded` the failed target itself is the last resort (a reused connection that broke says little
    /// about its target: it may just have closed an idle connection), and then on a new connection, never on
    /// another of its pooled ones.
    func route(_ client: ClientConnection, excluding: TargetState?, orExcluded: Bool, isRetry: Bool) -> ClientAction {
        let env = environment
        let listenerIndex = client.listenerIndex
        refreshRouting()
        var rule: Int?
        let matcher = routing.routing.ruleMatchers[listenerIndex]
        if matcher.count > 0, let exchange = client.machine.exchangeBeingRouted {
            let input = exchange.buffers.input
            let request = RuleRequest(head: exchange.request, fields: exchange.buffers.fields,
                                      source: input.bytes(from: input.readIndex),
                                      peerHigh: client.peerHigh, peerLow: client.peerLow)
            if let hit = matcher.match(request) {
                rule = hit.rule
                exchange.ruleCounters = routing.ruleCounters[listenerIndex][hit.rule + 1]
                if !matcher.forwards(hit.rule) {
                    routing.ruleCounters[listenerIndex][hit.rule + 1].recordRequest()
                    return client.machine.answer(by: matcher, hit, request, env)
                }
            }
        }
        if !isRetry { routing.ruleCounters[listenerIndex][(rule ?? -1) + 1].recordRequest() }
        // A group the request is held to: the one it names (forced), else the one its sticky cookie names.
        var pinned: Int?
        var sticky = false
        let affinity = routing.routing.affinities[listenerIndex][(rule ?? -1) + 1]
        if let affinity, let exchange = client.machine.exchangeBeingRouted {
            let input = exchange.buffers.input
            let source = input.bytes(from: input.readIndex)
            pinned = affinity.forcedPosition(exchange.buffers.fields, source: source)
            if pinned == nil && affinity.setsCookie {
                sticky = true
                pinned = affinity.stickyPosition(exchange.buffers.fields, source: source)
            }
        }
        guard let (position, group, target, counters) = pickTarget(listenerIndex: listenerIndex, rule: rule, pinned: pinned,
                                                                   excluding: excluding)
                ?? (orExcluded ? pickTarget(listenerIndex: listenerIndex, rule: rule, pinned: pinned, excluding: nil) : nil) else {
            return client.machine.noTarget(env)
        }
        if sticky, let affinity, let exchange = client.machine.exchangeBeingRouted {
            // The weights picked the group: the response pins the client to it. A retry that reached the pinned
            // group after all drops the line an earlier attempt chose.
            let pins = position != pinned
            exchange.setCookie = pins ? affinity.setCookieLine(position) : UnsafeRawBufferPointer(start: nil, count: 0)
            exchange.setCookieOwner = pins ? affinity : nil
        }
        if isRetry {
            listenerCounters[listenerIndex].recordRetry()
        } else if !routing.mirrors.isEmpty, let mirror = routing.mirrors[listenerIndex][(rule ?? -1) + 1],
                  let exchange = client.machine.exchangeBeingRouted {
            self.mirror(client, exchange, mirror)
        }
        // Started here, finished wherever the attempt gives its target back (`dispose`, or below before a
        // connection is attached): started minus finished is what is in flight on the route.
        counters.recordStarted()
        let responseTimeout = routing.groupResponseTimeouts[group]
        let tlsContext = routing.groupTLS[group]
        if tlsContext == nil && routing.routing.table.groups[group].tls != nil {
            // Never plain to a group that asks for TLS: its context could not be made (logged).
            counters.recordFinished()
            return client.machine.noResources(route: counters, env)
        }
        // Most recent idle connection first: the least likely to have been closed by the target. A target in
        // groups with and without `tls` keeps one pool: a connection of the other kind is closed.
        if target !== excluding, let upstream = target.idle.popLast() {
            if (upstream.tls != nil) == (tlsContext != nil) {
                let link = attach(upstream, to: client, counters: counters, responseTimeout: responseTimeout)
                return client.machine.routed(to: link, connected: true, env)
            }
            closeUpstream(upstream)
        }
        let (fd, result) = Socket.connect(to: target.address)
        switch result {
        case .failed(let err) where SystemError.isLocalResourceShortage(err):
            recordResourceShortage(errno: err, during: "connect")
            counters.recordFinished()
            return client.machine.noResources(route: counters, env)
        case .failed(let err):
            counters.recordFinished()
            return client.machine.connectFailed(to: target, counters: counters, errno: err, env)
        case .connected, .inProgress:
            let upstream = makeUpstream(fd: fd, target: target)
            upstream.connected = result == .connected
            upstream.writable = upstream.connected
            if let tlsContext {
                guard startTLS(upstream, tlsContext, group: group) else {
                    closeUpstream(upstream)
                    counters.recordFinished()
                    return client.machine.noResources(route: counters, env)
                }
            }
            do {
                try epoll.add(fd, Worker.connectionEvents,
                              token: EventToken(.upstream, slot: upstream.slot, generation: upstream.slotGeneration).raw)
            } catch {
                // The worker's own failure (no memory for the watch), never the target's.
                closeUpstream(upstream)
                recordResourceShortage(errno: error.errno, during: "connect")
                counters.recordFinished()
                return client.machine.noResources(route: counters, env)
            }
            let link = attach(upstream, to: client, counters: counters, responseTimeout: responseTimeout)
            return client.machine.routed(to: link, connected: upstream.connected, env)
        }
    }

    private func attach(_ upstream: UpstreamConnection, to client: ClientConnection, counters: RouteCounters,
                        responseTimeout: UInt64) -> UpstreamLink {
        upstream.client = client
        client.upstreamTLS = upstream.tls
        upstream.target.outstanding += 1
        return pool.takeLink(to: upstream, counters: counters, responseTimeout: responseTimeout)
    }

    /// An upstream socket became writable while connecting: learn the outcome, then drive the client.
    func finishConnect(_ upstream: UpstreamConnection, for client: ClientConnection) {
        if !upstream.handshaking {
            let err = Socket.pendingError(upstream.fd)
            guard err == 0 else {
                drive(client, from: client.machine.connectFailed(errno: err, environment))
                return
            }
            guard upstream.tls == nil else {
                upstream.handshaking = true
                advanceUpstreamHandshake(upstream, for: client)
                return
            }
            upstream.connected = true
            drive(client)
            return
        }
        advanceUpstreamHandshake(upstream, for: client)
    }

    /// Closes or pools what a client's machine let go of: the upstream connection (back to its pool when
    /// `reuse`) and the relays.
    func dispose(_ released: Released, reuse: Bool) {
        if let link = released.upstream {
            let upstream = link.connection
            upstream.client?.upstreamTLS = nil
            upstream.client = nil
            upstream.target.outstanding -= 1
            link.counters.recordFinished()
            pool.give(link)
            if reuse { park(upstream) } else { closeUpstream(upstream) }
        }
        release(released.relays.first)
        release(released.relays.second)
    }

    /// Returns a healthy, finished upstream connection to its target's pool.
    private func park(_ upstream: UpstreamConnection) {
        upstream.completedExchanges += 1
        upstream.idleSince = now
        if upstream.target.keepsIdleConnections(now: now) && !draining {
            upstream.target.idle.append(upstream)
        } else {
            closeUpstream(upstream)
        }
    }

    /// Closes a pooled (idle) upstream connection and removes it from its pool.
    func closePooled(_ upstream: UpstreamConnection) {
        let target = upstream.target
        if let i = target.idle.lastIndex(where: { $0 === upstream }) { target.idle.remove(at: i) }
        closeUpstream(upstream)
    }
}
