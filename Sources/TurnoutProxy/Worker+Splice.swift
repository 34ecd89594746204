import Glibc
import TurnoutPosix

/// Zero-copy body forwarding: when both ends are plain TCP and nothing is buffered in
/// user space for the direction, body bytes move through a pipe with `splice(2)`; small
/// bodies and bytes already buffered are copied through the connection buffers.
///
/// A relay moves one span at a time: a whole Content-Length body, everything until the
/// upstream closes, or the data of one chunk (what is left of it once its buffered start
/// was copied). Chunk framing always goes through user space: the proxy writes its own
/// chunk header into the destination's buffer, which must be flushed before the chunk's
/// data is spliced after it, and decodes the CRLF and the next size line from the source.
extension Worker {
    /// Spans shorter than this are copied: for them a pipe saves nothing. It applies to a
    /// whole Content-Length body and to the rest of a chunk alike. (A 16 KiB threshold cost
    /// more CPU with 16 KiB chunks: a header write and two splices per chunk instead of one read
    /// and one write of a buffer holding a chunk or more.)
    static let spliceThreshold: UInt64 = 64 * 1024
    static let pipeCapacity = 256 * 1024
    /// Bytes one connection may splice in before the worker turns to others: a pipeful.
    /// Without a cap, a worker moved a whole 1 MiB body (or more) while the other
    /// connections' events waited, which showed in their tail latency.
    static let splicedBytesPerTurn = pipeCapacity

    /// Whether the next bytes of `transfer` are to be spliced (once nothing is buffered for
    /// them in user space), so the caller must not read them into its buffer.
    func wantsSplice(_ transfer: BodyTransfer) -> Bool {
        guard spliceEnabled else { return false }
        switch transfer.spliceSpan {
        case .bytes(let remaining): return remaining >= Worker.spliceThreshold
        case .untilClose: return true
        case .none: return false
        }
    }

    /// A relay for a body in `transfer` if splicing applies now: the source's buffered bytes
    /// are passed on and the destination's buffer is flushed, so order is kept.
    func startRelay(for transfer: BodyTransfer, input: IOBuffer, output: IOBuffer) -> SpliceRelay? {
        guard input.isEmpty, output.isEmpty, wantsSplice(transfer) else { return nil }
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

    /// Returns a relay to the pool if its pipe is empty; a pipe with bytes left is closed.
    func release(_ relay: SpliceRelay?) {
        guard let relay else { return }
        if relay.buffered == 0 && spareRelays.count < 64 {
            spareRelays.append(relay)
        } else {
            relay.pipe.close()
        }
    }

    /// What a relay may still read for `transfer`: nil until end of file, 0 when only the pipe
    /// is left to drain (the span's bytes are all read, or framing comes next).
    private func spliceLimit(_ transfer: BodyTransfer) -> UInt64? {
        switch transfer.spliceSpan {
        case .bytes(let remaining): return remaining
        case .untilClose: return nil
        case .none: return 0
        }
    }

    func spliceResponseBody(_ client: ClientConnection, _ upstream: UpstreamConnection, _ relay: SpliceRelay) -> StepOutcome {
        var remaining = spliceLimit(client.responseBody)
        let limit = remaining
        let writtenBefore = client.responseBytesWritten
        let outcome = relay.pump(from: upstream.fd, to: client.fd, remaining: &remaining,
                                 sourceReadable: &upstream.readable,
                                 destinationWritable: &client.writable, written: &client.responseBytesWritten, budget: &turnBudget)
        if let limit, let left = remaining { client.responseBody.recordSpliced(limit - left) }
        let spliced = client.responseBytesWritten &- writtenBefore
        if spliced > 0 { listenerCounters[client.listenerIndex].recordSplicedResponseBytes(UInt64(spliced)) }
        switch outcome {
        case .progressed, .stalled:
            return settle(client, relay, remaining: remaining, progressed: outcome == .progressed,
                          body: &client.responseBody, slot: &client.responseRelay)
        case .sourceEnded:
            client.responseRelay = nil
            release(relay)
            if remaining == nil {
                client.responseBody = .done
                client.upstreamReusable = false
                return .progressed
            }
            logger.warning("upstream closed mid-response", metadata: ["target": "\(upstream.target.key)"])
            abortResponse(client)
            return .finished
        case .sourceFailed(let err):
            client.responseRelay = nil
            release(relay)
            logger.warning("upstream failed mid-response", metadata: ["target": "\(upstream.target.key)", "errno": "\(err)"])
            abortResponse(client)
            return .finished
        case .destinationFailed:
            closeClient(client)
            return .finished
        case .unsupported:
            return spliceUnsupported(client, relay, isResponse: true)
        }
    }

    func spliceRequestBody(_ client: ClientConnection, _ upstream: UpstreamConnection, _ relay: SpliceRelay) -> StepOutcome {
        var remaining = spliceLimit(client.requestBody)
        guard let limit = remaining else { return .stalled }  // request bodies always have an end
        var written = 0
        let outcome = relay.pump(from: client.fd, to: upstream.fd, remaining: &remaining,
                                 sourceReadable: &client.readable,
                                 destinationWritable: &upstream.writable, written: &written,
                                 budget: &turnBudget)
        client.requestBody.recordSpliced(limit - (remaining ?? limit))
        if written > 0 { listenerCounters[client.listenerIndex].recordSplicedRequestBytes(UInt64(written)) }
        switch outcome {
        case .progressed, .stalled:
            return settle(client, relay, remaining: remaining, progressed: outcome == .progressed,
                          body: &client.requestBody, slot: &client.requestRelay)
        case .sourceEnded, .sourceFailed:
            logger.info("client closed during the request body", metadata: ["client": "\(peerDescription(client))"])
            closeClient(client, abort: true)
            return .finished
        case .destinationFailed:
            upstreamFailedBeforeResponse(client, reason: "upstream write failed")
            return .finished
        case .unsupported:
            return spliceUnsupported(client, relay, isResponse: false)
        }
    }

    /// After a pump that neither ended nor failed: once the span is read and the pipe drained,
    /// the relay goes back to the pool (a Content-Length body is then done; a chunked body goes
    /// back to decoding its framing); otherwise progress refreshes the exchange's deadline.
    private func settle(_ client: ClientConnection, _ relay: SpliceRelay, remaining: UInt64?, progressed: Bool,
                        body: inout BodyTransfer, slot: inout SpliceRelay?) -> StepOutcome {
        if remaining == 0 && relay.buffered == 0 {
            if case .length = body { body = .done }
            slot = nil
            release(relay)
            return .progressed
        }
        guard progressed else { return .stalled }
        client.deadline = now &+ client.upstreamResponseTimeout
        return .progressed
    }

    /// The kernel cannot splice here: copy from now on (this worker), if nothing is stuck in the pipe.
    private func spliceUnsupported(_ client: ClientConnection, _ relay: SpliceRelay, isResponse: Bool) -> StepOutcome {
        spliceEnabled = false
        logger.warning("splice not supported here; copying bodies instead")
        if isResponse { client.responseRelay = nil } else { client.requestRelay = nil }
        if relay.buffered > 0 {
            relay.pipe.close()
            closeClient(client, abort: true)
            return .finished
        }
        release(relay)
        return .progressed
    }
}
