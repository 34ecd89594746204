import Glibc
import TurnoutHTTP1
import TurnoutPosix

extension Worker {
    /// Actions one `drive` carries out at most before it yields: a guard against a machine that never waits (an
    /// exchange takes about a dozen).
    static let maxActionsPerDrive = 16_384

    /// Advances a client connection (and its upstream) as far as readiness allows: carries out what its state
    /// machine asks, beginning with `start` (or `next`), and reports each outcome, until the machine waits. So
    /// edge-triggered readiness is always consumed to EAGAIN or to a full buffer; or the turn's splice budget is
    /// spent, and then the connection is owed a turn.
    func drive(_ client: ClientConnection, from start: ClientAction? = nil) {
        turnBudget = Worker.splicedBytesPerTurn
        defer {
            if turnBudget <= 0 && client.fd >= 0 {
                owedTurns.append(EventToken(.client, slot: client.slot, generation: client.slotGeneration))
            }
        }
        let env = environment
        if start == nil, let tls = client.tls, !tls.established {
            guard advanceHandshake(client, tls) else { return }
        }
        var action = start ?? client.machine.next(env)
        for _ in 0..<Worker.maxActionsPerDrive {
            assert(!client.machine.isModifying, "a transition left its state out")
            switch action {
            case .wait:
                return
            case .readClient(let bytes):
                action = client.machine.clientRead(readClient(client, into: bytes), env)
            case .writeClient(let bytes):
                action = client.machine.clientWritten(writeClient(client, from: bytes), env)
            case .readUpstream(let fd, let bytes):
                let result = client.upstreamTLS.map { $0.read(into: bytes) } ?? FileIO.read(fd, into: bytes)
                action = client.machine.upstreamRead(result, env)
            case .writeUpstream(let fd, let bytes):
                let result = client.upstreamTLS.map { $0.write(from: bytes) } ?? FileIO.write(fd, from: bytes)
                action = client.machine.upstreamWritten(result, env)
            case .route(let excluding, let orExcluded, let isRetry):
                action = route(client, excluding: excluding?.object, orExcluded: orExcluded, isRetry: isRetry)
            case .takeRelay(let leg):
                action = client.machine.relayTaken(takeRelay(), for: leg, env)
            case .splice(let relay, let leg, let upstream, let limit):
                action = splice(client, relay.object, leg, upstream.object, limit: limit)
            case .releaseRelay:
                dispose(client.machine.takeReleased(), reuse: false)
                action = client.machine.next(env)
            case .failingResponse(let target):
                recordTargetFailure(target.object)
                action = client.machine.next(env)
            case .upgraded(let target, let status, let counters, let duration):
                recordTargetResponse(target.object, status: status)
                counters.object.recordResponse(status: Int(status), durationNanoseconds: duration)
                recordAccess(client)
                action = client.machine.next(env)
            case .finishExchange(let status, let duration, let reuse, let idle):
                let released = client.machine.takeReleased()
                released.upstream?.counters.recordResponse(status: Int(status), durationNanoseconds: duration)
                recordAccess(client)
                dispose(released, reuse: reuse)
                if idle { return }
                action = client.machine.next(env)
            case .shutdownClientOutput:
                shutdownClientOutput(client)
                action = client.machine.next(env)
            case .shutdownUpstreamOutput(let upstream):
                upstream.object.tls?.sendCloseNotify()
                Socket.shutdownWrite(upstream.object.fd)
                action = client.machine.next(env)
            case .failed:
                // The reported target is held by the released link until it is disposed of, after the report.
                let released = client.machine.takeReleased()
                if let failure = client.machine.takeReport() { report(failure, client) }
                recordAccess(client)
                dispose(released, reuse: false)
                action = client.machine.next(env)
            case .close(let abort, let flushing):
                if let failure = client.machine.takeReport() { report(failure, client) }
                recordAccess(client)
                if let flushing, !flushing.isEmpty, client.machine.writable {
                    // What is buffered goes out before the reset, so the client sees how far the response got.
                    switch writeClient(client, from: flushing) {
                    case .bytes, .wouldBlock: break
                    case .endOfFile, .failed:
                        closeClient(client)
                        return
                    }
                }
                closeClient(client, abort: abort)
                return
            }
        }
    }

    /// Reads into `bytes`. A read that returns fewer bytes than asked drained the socket: the next byte to arrive
    /// raises a new edge, so readiness is cleared right away instead of paying a second read for the EAGAIN. Not
    /// after a hang-up was signalled, though: then the end of file is still to be read.
    @inline(__always)
    func readSocket(_ fd: Int32, into bytes: UnsafeMutableRawBufferPointer, readable: inout Bool,
                    hangUpSignalled: Bool) -> IOResult {
        let result = FileIO.read(fd, into: bytes)
        switch result {
        case .bytes(let n):
            if n < bytes.count && !hangUpSignalled { readable = false }
        case .wouldBlock:
            readable = false
        case .endOfFile, .failed:
            break
        }
        return result
    }

    /// Sends `bytes`; readiness is cleared when the socket has no room.
    @inline(__always)
    func writeSocket(_ fd: Int32, from bytes: UnsafeRawBufferPointer, writable: inout Bool) -> IOResult {
        let result = FileIO.write(fd, from: bytes)
        if case .wouldBlock = result { writable = false }
        return result
    }

    /// The log line and bookkeeping of a failure, and the answer counted as a proxy error.
    func report(_ report: FailureReport, _ client: ClientConnection) {
        let answer = report.answer
        if let answer {
            listenerCounters[client.listenerIndex].recordProxyError(status: Int(answer))
            report.route?.recordProxyError(status: Int(answer))
        }
        switch report.failure {
        case .malformedRequest(let error):
            logger.info("rejected request: \(error.reason)",
                        metadata: ["status": .stringConvertible(error.status), "client": "\(peerDescription(client))"])
        case .requestHeadTimedOut:
            logger.info("request head timed out", metadata: ["client": "\(peerDescription(client))"])
        case .noTarget:
            logger.info("no target available",
                        metadata: ["listener": .stringConvertible(client.listenerIndex), "status": .stringConvertible(answer ?? 503)])
        case .localResourceShortage:
            break  // the shortage report (`recordResourceShortage`) has said so
        case .requestHeadTooLarge:
            logger.info("rewritten request head does not fit the buffer")
        case .malformedRequestBody(let error):
            logger.info("rejected request body: \(error.reason)", metadata: ["client": "\(peerDescription(client))"])
        case .clientClosedDuringBody:
            logger.info("client closed during the request body", metadata: ["client": "\(peerDescription(client))"])
        case .connectFailed(let lentTarget, let counters, let err, let attempt):
            let target = lentTarget.object
            // Nothing was sent: the target is skipped for a moment and the failure counts toward its ejection.
            target.refusedUntil = now &+ settings.refusedBackoff
            recordTargetFailure(target)
            counters.object.recordConnectError()
            logger.info("upstream connect failed",
                        metadata: ["target": "\(target.key)", "errno": .stringConvertible(err), "attempt": .stringConvertible(attempt)])
        case .upstreamLost(let lentTarget, let loss, let reused, let retry):
            let target = lentTarget.object
            let reason: StaticString = loss == .writeFailed ? "upstream write failed" : "upstream closed before responding"
            logger.info("\(reason)", metadata: ["target": "\(target.key)", "retry": "\(retry)"])
            // A reused connection most likely timed out idle: not the target's failure.
            if !reused { recordTargetFailure(target) }
        case .malformedResponse(let error, let target):
            logger.warning("malformed upstream response: \(error.reason)", metadata: ["target": "\(target.object.key)"])
        case .tooManyInterimResponses(let target):
            logger.warning("too many interim responses; giving up on the upstream", metadata: [
                "target": "\(target.object.key)", "limit": "\(ClientStateMachine.maxInterimResponses)",
            ])
        case .interimHeadTooLarge(let target):
            logger.warning("rewritten interim head does not fit the buffer", metadata: ["target": "\(target.object.key)"])
        case .responseHeadTooLarge(let target):
            logger.warning("rewritten response head does not fit the buffer", metadata: ["target": "\(target.object.key)"])
        case .unexpectedProtocolSwitch(let target):
            logger.warning("upstream switched protocols without an upgrade request", metadata: ["target": "\(target.object.key)"])
        case .malformedResponseBody(let error, let target):
            logger.warning("malformed upstream response body: \(error.reason)", metadata: ["target": "\(target.object.key)"])
        case .upstreamClosedMidResponse(let target):
            logger.warning("upstream closed mid-response", metadata: ["target": "\(target.object.key)"])
        case .upstreamFailedMidResponse(let target, let err):
            logger.warning("upstream failed mid-response", metadata: ["target": "\(target.object.key)", "errno": .stringConvertible(err)])
        case .upstreamResponseTimedOut(let target):
            logger.info("upstream response timed out", metadata: ["target": "\(target.object.key)"])
        case .transferStalled:
            logger.info("transfer stalled; aborting", metadata: ["client": "\(peerDescription(client))"])
        }
    }

    func peerDescription(_ client: ClientConnection) -> String {
        String(decoding: client.peerHostBytes, as: UTF8.self)
    }
}
