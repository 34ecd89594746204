import Glibc
import TurnoutPosix

/// Zero-copy forwarding: when nothing is buffered in user space for a direction, body and tunnel bytes move
/// through a pipe with `splice(2)`; small bodies and bytes already buffered are copied through the connection
/// buffers. The client's state machine decides when (`ClientStateMachine.wantsSplice`); the worker keeps the
/// pipes and makes the calls.
///
/// A relay moves one span at a time: a whole Content-Length body, everything until the upstream closes, or the
/// data of one chunk (what is left of it once its buffered start was copied). Chunk framing always goes through
/// user space: the proxy writes its own chunk header into the destination's buffer, which must be flushed before
/// the chunk's data is spliced after it, and decodes the CRLF and the next size line from the source.
extension Worker {
    static let pipeCapacity = 256 * 1024
    /// Bytes one connection may splice in before the worker turns to others: a pipeful.
    /// Without a cap, a worker moved a whole 1 MiB body (or more) while the other
    /// connections' events waited, which showed in their tail latency.
    static let splicedBytesPerTurn = pipeCapacity

    /// A relay from the spares, or one with a new pipe; nil when no pipe can be had (the body is copied).
    func takeRelay() -> SpliceRelay? {
        // Relays are recycled whole (not just their pipes), so splicing allocates nothing per body.
        if let relay = spareRelays.popLast() { return relay }
        do {
            return SpliceRelay(pipe: try Pipe(size: Int32(Worker.pipeCapacity)), capacity: Worker.pipeCapacity)
        } catch where SystemError.isLocalResourceShortage(error.errno) {
            recordResourceShortage(errno: error.errno, during: "pipe")
            return nil
        } catch {
            logger.warning("cannot create a pipe; copying bodies instead: \(error)")
            return nil
        }
    }

    /// Returns a relay to the spares if its pipe is empty; a pipe with bytes left is closed.
    func release(_ relay: SpliceRelay?) {
        guard let relay else { return }
        if relay.buffered == 0 && spareRelays.count < 64 {
            spareRelays.append(relay)
        } else {
            relay.pipe.close()
        }
    }

    /// Pumps `leg` through `relay` within the turn's budget and reports the outcome to the client's machine.
    func splice(_ client: ClientConnection, _ relay: SpliceRelay, _ leg: SpliceLeg, _ upstream: UpstreamConnection,
                limit: UInt64?) -> ClientAction {
        var remaining = limit
        var written = 0
        let outcome: SpliceRelay.Outcome
        switch leg {
        case .requestBody, .tunnelUpward:
            outcome = relay.pump(from: client.fd, to: upstream.fd, remaining: &remaining,
                                 sourceReadable: &client.machine.readable, destinationWritable: &upstream.writable,
                                 written: &written, budget: &turnBudget)
        case .responseBody, .tunnelDownward:
            outcome = relay.pump(from: upstream.fd, to: client.fd, remaining: &remaining,
                                 sourceReadable: &upstream.readable, destinationWritable: &client.machine.writable,
                                 written: &written, budget: &turnBudget)
        }
        if written > 0 {
            if leg == .requestBody { listenerCounters[client.listenerIndex].recordSplicedRequestBytes(UInt64(written)) }
            if leg == .responseBody { listenerCounters[client.listenerIndex].recordSplicedResponseBytes(UInt64(written)) }
        }
        if outcome == .unsupported && spliceEnabled {
            spliceEnabled = false
            logger.warning("splice not supported here; copying bodies instead")
        }
        return client.machine.spliced(leg, outcome, remaining: remaining, written: written, environment)
    }
}
