import TurnoutPosix

extension Worker {
    /// An upgraded connection: bytes both ways, unchanged, until both sides finish.
    /// A side's end of input is passed on as a write shutdown once its bytes are flushed.
    func stepTunnel(_ client: ClientConnection) -> Bool {
        guard let upstream = client.upstream else {
            closeClient(client)
            return false
        }
        var progressed = false
        // client → upstream
        switch pump(from: client.fd, readable: &client.readable, hangUp: client.hangUpSignalled, ended: &client.peerClosedInput,
                    source: client.input!, destination: upstream.output!) {
        case .progressed: progressed = true
        case .stalled: break
        case .finished:
            closeClient(client, abort: true)
            return false
        }
        switch flush(upstream) {
        case .progressed: progressed = true
        case .stalled: break
        case .finished:
            closeClient(client, abort: true)
            return false
        }
        // upstream → client
        switch pump(from: upstream.fd, readable: &upstream.readable, hangUp: upstream.hangUpSignalled,
                    ended: &upstream.peerClosedInput,
                    source: upstream.input!, destination: client.output!) {
        case .progressed: progressed = true
        case .stalled: break
        case .finished:
            closeClient(client, abort: true)
            return false
        }
        switch flush(client) {
        case .progressed: progressed = true
        case .stalled: break
        case .finished: return false
        }
        if client.peerClosedInput && client.input!.isEmpty && upstream.output!.isEmpty && !upstream.outputShut {
            Socket.shutdownWrite(upstream.fd)
            upstream.outputShut = true
        }
        if upstream.peerClosedInput && upstream.input!.isEmpty && client.output!.isEmpty && !client.outputShut {
            Socket.shutdownWrite(client.fd)
            client.outputShut = true
        }
        if client.outputShut && upstream.outputShut {
            closeClient(client)
            return false
        }
        if progressed { client.deadline = now &+ settings.clientIdleTimeout }
        return progressed
    }

    /// Reads from `fd` into `source` when it is empty and moves `source` into
    /// `destination`. `.finished` means the read failed.
    private func pump(from fd: Int32, readable: inout Bool, hangUp: Bool, ended: inout Bool,
                      source: IOBuffer, destination: IOBuffer) -> StepOutcome {
        var progressed = false
        if source.isEmpty && readable && !ended {
            switch readSocket(fd, into: source.base, count: source.capacity, readable: &readable, hangUpSignalled: hangUp) {
            case .bytes(let n):
                source.readIndex = 0
                source.writeIndex = n
                progressed = true
            case .wouldBlock:
                readable = false
            case .endOfFile:
                ended = true
                progressed = true
            case .failed:
                return .finished
            }
        }
        if !source.isEmpty && destination.freeSpace > 0 {
            let n = min(source.pendingCount, destination.freeSpace)
            destination.append(UnsafeRawBufferPointer(start: source.base + source.readIndex, count: n))
            source.consume(n)
            progressed = true
        }
        return progressed ? .progressed : .stalled
    }
}
