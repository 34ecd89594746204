import Glibc
import TurnoutPosix

/// Zero-copy body forwarding: when both ends are plain TCP and nothing is buffered in
/// user space for the direction, Content-Length and until-close bodies move through a
/// pipe with `splice(2)`; otherwise (small bodies, chunked framing, bytes already
/// buffered) they are copied through the connection buffers.
extension Worker {
    /// Bodies shorter than this are copied: for them a pipe saves nothing.
    static let spliceThreshold: UInt64 = 64 * 1024
    static let pipeCapacity = 256 * 1024

    /// A relay for a body in `transfer` if splicing applies now.
    func startRelay(for transfer: BodyTransfer, input: IOBuffer, output: IOBuffer) -> SpliceRelay? {
        guard spliceEnabled, input.isEmpty, output.isEmpty else { return nil }
        switch transfer {
        case .length(let remaining) where remaining >= Worker.spliceThreshold: break
        case .untilClose: break
        default: return nil
        }
        // Relays are recycled whole (not just their pipes), so splicing allocates nothing per body.
        if let relay = spareRelays.popLast() { return relay }
        do {
            return SpliceRelay(pipe: try Pipe(size: Int32(Worker.pipeCapacity)), capacity: Worker.pipeCapacity)
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

    func spliceResponseBody(_ client: ClientConnection, _ upstream: UpstreamConnection, _ relay: SpliceRelay) -> StepOutcome {
        var remaining: UInt64?
        switch client.responseBody {
        case .length(let left): remaining = left
        case .untilClose: remaining = nil
        default: return .stalled
        }
        let outcome = relay.pump(from: upstream.fd, to: client.fd, remaining: &remaining,
                                 sourceReadable: &upstream.readable,
                                 destinationWritable: &client.writable, written: &client.responseBytesWritten)
        if let left = remaining { client.responseBody = .length(left) }
        switch outcome {
        case .progressed, .stalled:
            if remaining == 0 && relay.buffered == 0 {
                client.responseBody = .done
                client.responseRelay = nil
                release(relay)
                return .progressed
            }
            if outcome == .progressed { client.deadline = now &+ settings.upstreamResponseTimeout }
            return outcome == .progressed ? .progressed : .stalled
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
        guard case .length(let left) = client.requestBody else { return .stalled }
        var remaining: UInt64? = left
        var ignored = 0
        let outcome = relay.pump(from: client.fd, to: upstream.fd, remaining: &remaining,
                                 sourceReadable: &client.readable,
                                 destinationWritable: &upstream.writable, written: &ignored)
        client.requestBody = .length(remaining ?? 0)
        switch outcome {
        case .progressed, .stalled:
            if remaining == 0 && relay.buffered == 0 {
                client.requestBody = .done
                client.requestRelay = nil
                release(relay)
                return .progressed
            }
            if outcome == .progressed { client.deadline = now &+ settings.upstreamResponseTimeout }
            return outcome == .progressed ? .progressed : .stalled
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
