import TurnoutPosix

/// What a tunnel needs of either end, so one function serves both directions.
protocol TunnelEndpoint: AnyObject {
    var fd: Int32 { get }
    var readable: Bool { get set }
    var writable: Bool { get set }
    var hangUpSignalled: Bool { get }
    var peerClosedInput: Bool { get set }
    var outputShut: Bool { get set }
    var input: IOBuffer? { get }
    var output: IOBuffer? { get }
}

extension ClientConnection: TunnelEndpoint {}
extension UpstreamConnection: TunnelEndpoint {}

extension Worker {
    /// An upgraded connection: bytes both ways, unchanged, until both sides finish.
    /// Each direction splices when nothing is buffered for it, and copies otherwise.
    /// A side's end of input is passed on as a write shutdown once its bytes are through.
    func stepTunnel(_ client: ClientConnection) -> Bool {
        guard let upstream = client.upstream else {
            closeClient(client)
            return false
        }
        // Two calls, not a loop over an array literal: that would allocate on every pass.
        let upward = tunnelLeg(from: client, to: upstream, relay: &client.requestRelay)
        let downward = upward == .finished ? .finished : tunnelLeg(from: upstream, to: client, relay: &client.responseRelay)
        if downward == .finished {
            closeClient(client, abort: true)
            return false
        }
        let progressed = upward == .progressed || downward == .progressed
        passOnEndOfInput(from: client, to: upstream, relay: client.requestRelay)
        passOnEndOfInput(from: upstream, to: client, relay: client.responseRelay)
        if client.outputShut && upstream.outputShut {
            closeClient(client)
            return false
        }
        if progressed { client.deadline = now &+ settings.clientIdleTimeout }
        return progressed
    }

    private func passOnEndOfInput<S: TunnelEndpoint, D: TunnelEndpoint>(from source: S, to destination: D, relay: SpliceRelay?) {
        guard source.peerClosedInput, relay == nil, source.input!.isEmpty, destination.output!.isEmpty,
              !destination.outputShut else { return }
        Socket.shutdownWrite(destination.fd)
        destination.outputShut = true
    }

    /// Moves what `source` sends to `destination`. `.finished` means either side failed.
    private func tunnelLeg<S: TunnelEndpoint, D: TunnelEndpoint>(from source: S, to destination: D,
                                                                 relay: inout SpliceRelay?) -> StepOutcome {
        if relay == nil && !source.peerClosedInput {
            relay = startRelay(for: .untilClose, input: source.input!, output: destination.output!)
        }
        if let active = relay {
            var remaining: UInt64?
            var written = 0
            var readable = source.readable, writable = destination.writable
            let outcome = active.pump(from: source.fd, to: destination.fd, remaining: &remaining,
                                      sourceReadable: &readable,
                                      destinationWritable: &writable, written: &written, budget: &turnBudget)
            source.readable = readable
            destination.writable = writable
            switch outcome {
            case .progressed: return .progressed
            case .stalled: return .stalled
            case .sourceEnded:
                source.peerClosedInput = true
                release(active)
                relay = nil
                return .progressed
            case .sourceFailed, .destinationFailed:
                return .finished
            case .unsupported:
                spliceEnabled = false
                if active.buffered > 0 { return .finished }
                release(active)
                relay = nil
                return .progressed
            }
        }
        var progressed = false
        let input = source.input!, output = destination.output!
        if input.isEmpty && source.readable && !source.peerClosedInput {
            var readable = source.readable
            switch readSocket(source.fd, into: input.base, count: input.capacity, readable: &readable,
                              hangUpSignalled: source.hangUpSignalled) {
            case .bytes(let n):
                input.readIndex = 0
                input.writeIndex = n
                progressed = true
            case .wouldBlock:
                break
            case .endOfFile:
                source.peerClosedInput = true
                progressed = true
            case .failed:
                return .finished
            }
            source.readable = readable
        }
        if !input.isEmpty && output.freeSpace > 0 {
            let n = min(input.pendingCount, output.freeSpace)
            output.append(UnsafeRawBufferPointer(start: input.base + input.readIndex, count: n))
            input.consume(n)
            progressed = true
        }
        if !output.isEmpty && destination.writable {
            switch FileIO.write(destination.fd, from: output.base + output.readIndex, count: output.pendingCount) {
            case .bytes(let n):
                output.consume(n)
                progressed = true
            case .wouldBlock:
                destination.writable = false
            case .endOfFile, .failed:
                return .finished
            }
        }
        return progressed ? .progressed : .stalled
    }
}
