import TurnoutHTTP1
import TurnoutMetrics
import TurnoutPosix

/// A route's mirroring as a worker carries it out (see `RouteMirror`): at the routing decision a chosen request is
/// copied into a `MirrorCopy` and sent to a target of the mirror group on a connection of its own, beside the
/// client's exchange and never in its way. What cannot be sent at once is dropped and counted.
extension Worker {
    /// Marks every copy: shadow traffic, on a connection that closes after its answer.
    static let mirrorFields: StaticString = "X-Turnout-Mirror: 1\r\nConnection: close\r\n"

    /// Copies the request being routed on `client` to `route`'s mirror group when its sampling chooses it.
    /// Called once per request (not for a retry), before the request's own head is written: the head and any
    /// body bytes are still in the client's input buffer.
    func mirror(_ client: ClientConnection, _ exchange: Exchange, _ route: MirrorRoute) {
        guard mirrorSampler.chooses(percent: route.percent) else { return }
        let counters = route.counters
        counters.recordRequest()
        let head = exchange.request
        if head.isUpgrade {
            counters.recordDrop(.upgrade)
            return
        }
        let input = exchange.buffers.input
        var bodyCount = 0
        switch head.framing {
        case .none:
            break
        case .contentLength(let length):
            // Only a body that came whole with its head: the client's request never waits for a copy.
            guard length <= UInt64(route.maxBody), length <= UInt64(input.writeIndex - exchange.bodyCursor) else {
                counters.recordDrop(.body)
                return
            }
            bodyCount = Int(length)
        case .chunked, .untilClose:
            counters.recordDrop(.body)
            return
        }
        // Indexed rather than `.last`: generic collection accessors, unspecialised (debug), allocate a frame per call.
        guard !freeMirrorSlots.isEmpty else {
            counters.recordDrop(.inFlight)
            return
        }
        let slot = freeMirrorSlots[freeMirrorSlots.count - 1]
        let targets = routing.groupTargets[route.group]
        let now = self.now
        guard let index = routing.groupPickers[route.group].next(outstanding: { targets[$0]?.outstanding ?? 0 },
                                                                 isExcluded: { !Worker.isUsable(targets[$0], excluding: nil, now: now) }),
              let target = targets[index] else {
            counters.recordDrop(.noTarget)
            return
        }
        let copy = mirrorCopies[slot] ?? makeMirrorCopy(slot: slot)
        copy.begin(counters: counters, deadline: now &+ routing.groupResponseTimeouts[route.group])
        // The id the route's target will get too, so that a copy and its original can be matched.
        if !head.hasRequestId && exchange.madeRequestId == nil { exchange.keepRequestId(environment.requestIds.next()) }
        let forwarded = ForwardedFor(clientAddress: client.machine.peerAddress, proto: client.machine.secure ? "https" : "http",
                                     port: client.machine.listenerPort, requestId: exchange.madeRequestId,
                                     targetAuthority: target.authority)
        let fields = Worker.mirrorFields
        guard let headCount = RequestHeadWriter.write(
            head, fields: exchange.buffers.fields, source: input.bytes(from: input.readIndex), forwarded: forwarded,
            extraFields: UnsafeRawBufferPointer(start: fields.utf8Start, count: fields.utf8CodeUnitCount),
            into: UnsafeMutableRawBufferPointer(rebasing: copy.buffer[..<(copy.buffer.count - bodyCount)])) else {
            counters.recordDrop(.failed)
            return
        }
        if bodyCount > 0 {
            (copy.buffer.baseAddress! + headCount).copyMemory(from: input.base + exchange.bodyCursor, byteCount: bodyCount)
        }
        copy.length = headCount + bodyCount
        if let refusal = mirrorBudget.reserve(copy.length) {
            counters.recordDrop(refusal)
            return
        }
        copy.reserved = copy.length
        freeMirrorSlots.removeLast()
        let (fd, result) = Socket.connect(to: target.address)
        switch result {
        case .failed:
            endMirror(copy, dropped: .connect)
            return
        case .connected, .inProgress:
            copy.fd = fd
            copy.connected = result == .connected
            copy.writable = copy.connected
        }
        do {
            try epoll.add(fd, Worker.connectionEvents,
                          token: EventToken(.mirror, slot: slot, generation: copy.generation).raw)
        } catch {
            endMirror(copy, dropped: .connect)
            return
        }
        advanceMirror(copy)
    }

    /// An epoll event on a copy's connection.
    func mirrorEvent(slot: Int, generation: UInt32, events: EpollEvents) {
        guard slot < mirrorCopies.count, let copy = mirrorCopies[slot], copy.fd >= 0, copy.generation == generation else {
            return
        }
        if events.contains(.readable) || events.contains(.readHangUp) || events.contains(.hangUp) || events.contains(.error) {
            copy.readable = true
        }
        if events.contains(.writable) || events.contains(.error) || events.contains(.hangUp) { copy.writable = true }
        if !copy.connected {
            guard copy.writable else { return }
            guard Socket.pendingError(copy.fd) == 0 else {
                endMirror(copy, dropped: .connect)
                return
            }
            copy.connected = true
        }
        advanceMirror(copy)
    }

    /// Writes what is left of the copy, then reads and discards the answer until the target closes.
    private func advanceMirror(_ copy: MirrorCopy) {
        guard copy.connected else { return }
        while copy.isPending && copy.writable {
            let rest = UnsafeRawBufferPointer(rebasing: copy.buffer[copy.written..<copy.length])
            switch FileIO.write(copy.fd, from: rest) {
            case .bytes(let n): copy.written += n
            case .wouldBlock: copy.writable = false
            case .endOfFile, .failed:
                endMirror(copy, dropped: .failed)
                return
            }
        }
        while copy.readable {
            switch FileIO.read(copy.fd, into: copy.isPending ? UnsafeMutableRawBufferPointer(rebasing: copy.buffer[copy.length...])
                                                           : copy.buffer) {
            case .bytes(let n): copy.answered = copy.answered || n > 0
            case .wouldBlock: copy.readable = false
            case .endOfFile:
                endMirror(copy, dropped: copy.answered ? nil : .failed)
                return
            case .failed:
                endMirror(copy, dropped: copy.answered ? nil : .failed)
                return
            }
        }
    }

    /// Ends a copy: its connection closed, its budget and slot given back, a drop counted.
    private func endMirror(_ copy: MirrorCopy, dropped reason: MirrorCounters.DropReason?) {
        if copy.fd >= 0 {
            FileIO.close(copy.fd)
            copy.fd = -1
        }
        if let reason { copy.counters?.recordDrop(reason) }
        copy.counters = nil
        mirrorBudget.release(copy.reserved)
        copy.reserved = 0
        freeMirrorSlots.append(copy.slot)
    }

    /// On the tick: copies whose mirror group did not answer in time are given up.
    func expireMirrors() {
        guard freeMirrorSlots.count < mirrorCopies.count else { return }
        for slot in 0..<mirrorCopies.count {
            guard let copy = mirrorCopies[slot], copy.fd >= 0, copy.deadline <= now else { continue }
            endMirror(copy, dropped: .timeout)
        }
    }

    /// Makes every copy record the worker may need, once a route it routes mirrors: made one by one as copies
    /// pile up, a slow mirror group would have the data path allocate whenever it got slower than before.
    func prepareMirrorCopies() {
        for slot in 0..<mirrorCopies.count where mirrorCopies[slot] == nil { _ = makeMirrorCopy(slot: slot) }
    }

    private func makeMirrorCopy(slot: Int) -> MirrorCopy {
        // The rewritten head fits what an upstream link's output holds, and the body came in the input with it.
        let copy = MirrorCopy(slot: slot, capacity: 2 * settings.bufferCapacity)
        mirrorCopies[slot] = copy
        return copy
    }
}
