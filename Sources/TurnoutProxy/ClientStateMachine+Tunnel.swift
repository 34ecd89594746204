import TurnoutPosix

/// An upgraded connection: bytes both ways, unchanged, until both sides finish. Borrowed from the worker's pool
/// at the upgrade.
final class Tunnel {
    private(set) var buffers: ClientBuffers
    private(set) var link: UpstreamLink
    /// Client → upstream.
    var upward = TunnelLeg()
    /// Upstream → client.
    var downward = TunnelLeg()
    var step = TunnelStep.upwardStart
    /// Whether any step of the current round moved bytes.
    var roundProgressed = false

    init(buffers: ClientBuffers, link: UpstreamLink) {
        self.buffers = buffers
        self.link = link
    }

    /// Readies a pooled record for a new tunnel.
    func start(buffers: ClientBuffers, link: UpstreamLink) {
        self.buffers = buffers
        self.link = link
        upward = TunnelLeg()
        downward = TunnelLeg()
        step = .upwardStart
        roundProgressed = false
    }

    /// Drops the relays (their owner has them) before the record is pooled.
    func clear() {
        upward.relay = nil
        downward.relay = nil
    }

    /// About what a record weighs on the heap, for the pool's count of freed memory.
    static let approximateBytes = 128

    subscript(leg: SpliceLeg) -> TunnelLeg {
        get { leg == .tunnelUpward ? upward : downward }
        set { if leg == .tunnelUpward { upward = newValue } else { downward = newValue } }
    }

    /// The direction's source buffer and its destination's output.
    func buffers(of leg: SpliceLeg) -> (input: IOBuffer, output: IOBuffer) {
        leg == .tunnelUpward ? (buffers.input, link.output) : (link.input, buffers.output)
    }
}

/// One direction of a tunnel.
struct TunnelLeg {
    /// The relay splicing this direction, when nothing is buffered for it.
    var relay: SpliceRelay?
    /// The source sent its end of file.
    var sourceEnded = false
    /// The destination's sending side was shut down, passing the source's end on.
    var destinationShut = false
}

/// The steps of a tunnel's round: each direction splices, or reads, copies and writes; then an end of input that
/// got through is passed on.
enum TunnelStep: UInt8 {
    case upwardStart, upwardCopy, downwardStart, downwardCopy, passOnUpward, passOnDownward, endOfRound
}

/// Tunnel transitions put the tunnel back as the state before they return.
extension ClientStateMachine {
    /// Each direction splices when nothing is buffered for it, and copies otherwise. A side's end of input is
    /// passed on as a write shutdown once its bytes are through; the tunnel closes when both are.
    mutating func tunnelNext(_ tunnel: Tunnel, _ env: ConnectionEnvironment) -> ClientAction {
        state = .tunnel(tunnel)
        return tunnelRound(tunnel, env)
    }

    private mutating func tunnelRound(_ tunnel: Tunnel, _ env: ConnectionEnvironment) -> ClientAction {
        while true {
            switch tunnel.step {
            case .upwardStart:
                tunnel.step = .upwardCopy
                if let action = legStart(.tunnelUpward, tunnel, env, mayTakeRelay: true) { return action }
            case .upwardCopy:
                tunnel.step = .downwardStart
                if let action = legCopy(.tunnelUpward, tunnel) { return action }
            case .downwardStart:
                tunnel.step = .downwardCopy
                if let action = legStart(.tunnelDownward, tunnel, env, mayTakeRelay: true) { return action }
            case .downwardCopy:
                tunnel.step = .passOnUpward
                if let action = legCopy(.tunnelDownward, tunnel) { return action }
            case .passOnUpward:
                tunnel.step = .passOnDownward
                if tunnel.upward.sourceEnded && tunnel.upward.relay == nil && tunnel.buffers.input.isEmpty
                    && tunnel.link.output.isEmpty && !tunnel.upward.destinationShut {
                    tunnel.upward.destinationShut = true
                    return .shutdownUpstreamOutput(Lent(tunnel.link.connection))
                }
            case .passOnDownward:
                tunnel.step = .endOfRound
                if tunnel.downward.sourceEnded && tunnel.downward.relay == nil && tunnel.link.input.isEmpty
                    && tunnel.buffers.output.isEmpty && !tunnel.downward.destinationShut {
                    tunnel.downward.destinationShut = true
                    return .shutdownClientOutput
                }
            case .endOfRound:
                if tunnel.upward.destinationShut && tunnel.downward.destinationShut { return .close(abort: false) }
                tunnel.step = .upwardStart
                guard tunnel.roundProgressed else { return .wait }
                tunnel.roundProgressed = false
                deadline = env.now &+ env.settings.clientIdleTimeout
            }
        }
    }

    /// The start of a direction: its relay if it has one (or may take one), else a read when its buffer is empty.
    private func legStart(_ leg: SpliceLeg, _ tunnel: Tunnel, _ env: ConnectionEnvironment,
                          mayTakeRelay: Bool) -> ClientAction? {
        let (input, output) = tunnel.buffers(of: leg)
        let current = tunnel[leg]
        if mayTakeRelay && current.relay == nil && !current.sourceEnded && env.spliceEnabled && !secure
            && tunnel.link.connection.tls == nil && input.isEmpty
            && output.isEmpty {
            return .takeRelay(leg)
        }
        if let relay = current.relay {
            tunnel.step = leg == .tunnelUpward ? .downwardStart : .passOnUpward
            return .splice(Lent(relay), leg, upstream: Lent(tunnel.link.connection), limit: nil)
        }
        guard input.isEmpty && !current.sourceEnded else { return nil }
        if leg == .tunnelUpward {
            guard readable else { return nil }
            input.reset()
            return .readClient(input.tail)
        }
        guard tunnel.link.connection.readable else { return nil }
        input.reset()
        return .readUpstream(fd: tunnel.link.connection.fd, upstreamReadRegion(input))
    }

    /// Copies what the direction's source buffered into its destination's buffer, and asks to send it.
    private func legCopy(_ leg: SpliceLeg, _ tunnel: Tunnel) -> ClientAction? {
        let (input, output) = tunnel.buffers(of: leg)
        if !input.isEmpty && output.freeSpace > 0 {
            let n = min(input.pendingCount, output.freeSpace)
            output.append(UnsafeRawBufferPointer(start: input.base + input.readIndex, count: n))
            input.consume(n)
            tunnel.roundProgressed = true
        }
        guard !output.isEmpty else { return nil }
        if leg == .tunnelUpward {
            return tunnel.link.connection.writable ? .writeUpstream(fd: tunnel.link.connection.fd, output.pending) : nil
        }
        return writable ? .writeClient(output.pending) : nil
    }

    /// A read for `leg` (the client's for upward, the upstream's for downward).
    mutating func tunnelRead(_ result: IOResult, leg: SpliceLeg, _ tunnel: Tunnel,
                             _ env: ConnectionEnvironment) -> ClientAction {
        state = .tunnel(tunnel)
        switch result {
        case .bytes(let n):
            tunnel.buffers(of: leg).input.writeIndex += n
            tunnel.roundProgressed = true
        case .wouldBlock:
            break
        case .endOfFile:
            tunnel[leg].sourceEnded = true
            tunnel.roundProgressed = true
        case .failed:
            return .close(abort: true)
        }
        return tunnelRound(tunnel, env)
    }

    /// A write for `leg` (the upstream's for upward, the client's for downward).
    mutating func tunnelWritten(_ result: IOResult, leg: SpliceLeg, _ tunnel: Tunnel,
                                _ env: ConnectionEnvironment) -> ClientAction {
        state = .tunnel(tunnel)
        switch result {
        case .bytes(let n):
            tunnel.buffers(of: leg).output.consume(n)
            tunnel.roundProgressed = true
        case .wouldBlock:
            break
        case .endOfFile, .failed:
            return .close(abort: true)
        }
        return tunnelRound(tunnel, env)
    }

    mutating func tunnelRelayTaken(_ relay: SpliceRelay?, leg: SpliceLeg, _ tunnel: Tunnel,
                                   _ env: ConnectionEnvironment) -> ClientAction {
        state = .tunnel(tunnel)
        tunnel[leg].relay = relay
        return legStart(leg, tunnel, env, mayTakeRelay: false) ?? tunnelRound(tunnel, env)
    }

    mutating func tunnelSpliced(_ outcome: SpliceRelay.Outcome, leg: SpliceLeg, _ tunnel: Tunnel,
                                _ env: ConnectionEnvironment) -> ClientAction {
        state = .tunnel(tunnel)
        guard let relay = tunnel[leg].relay else { preconditionFailure("tunnel splice without a relay") }
        switch outcome {
        case .progressed:
            tunnel.roundProgressed = true
        case .stalled:
            break
        case .sourceEnded:
            tunnel[leg].sourceEnded = true
            tunnel[leg].relay = nil
            tunnel.roundProgressed = true
            return releasing(relay)
        case .sourceFailed, .destinationFailed:
            return .close(abort: true)
        case .unsupported:
            // Bytes stuck in the pipe cannot be passed on in order.
            guard relay.buffered == 0 else {
                    return .close(abort: true)
            }
            tunnel[leg].relay = nil
            tunnel.roundProgressed = true
            return releasing(relay)
        }
        return tunnelRound(tunnel, env)
    }
}
