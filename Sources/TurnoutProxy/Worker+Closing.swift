import TurnoutHTTP1
import TurnoutPosix

extension Worker {
    /// Answers the client with a canned error and closes the connection after it.
    /// Any upstream attached is closed (its state is unknown). If a response was
    /// already under way the connection is aborted instead, so the client sees a
    /// failure rather than a truncated success. Interim (1xx) heads still waiting to go
    /// out go first: one of them may be partly written, and a final response may follow them.
    func respondWithError(_ client: ClientConnection, status: UInt16) {
        listenerCounters[client.listenerIndex].recordProxyError(status: Int(status))
        client.routeCounters?.recordProxyError(status: Int(status))
        if let upstream = client.upstream {
            detach(upstream, from: client)
            closeUpstream(upstream)
        } else if let target = client.target {
            target.outstanding -= 1
            client.routeCounters?.recordFinished()
            client.target = nil
        }
        if client.responseStarted {
            closeClient(client, abort: true)
            return
        }
        takeBuffers(client)
        let output = client.output!
        let canned = ErrorResponse.bytes(status: status)
        if output.freeSpace < canned.count { output.compact() }
        guard output.freeSpace >= canned.count else {
            closeClient(client, abort: true)
            return
        }
        output.append(canned)
        client.responseStarted = true
        beginClosing(client)
    }

    /// Flush what is pending, shut down our side, then read and discard until the
    /// client closes or the linger timeout passes: closing with unread input would send
    /// a RST that can destroy the response before the client reads it. A client that asked
    /// to close and sent nothing more is closed as soon as the response is out.
    func beginClosing(_ client: ClientConnection) {
        client.phase = .closing
        client.deadline = now &+ settings.lingerTimeout
    }

    func stepClosing(_ client: ClientConnection) -> Bool {
        var progressed = false
        switch flush(client) {
        case .progressed: progressed = true
        case .stalled: break
        case .finished: return false
        }
        if let output = client.output, !output.isEmpty { return progressed }
        if client.closesWithoutLinger {
            closeClient(client)
            return false
        }
        if !client.outputShut {
            Socket.shutdownWrite(client.fd)
            client.outputShut = true
            progressed = true
        }
        guard client.readable else { return progressed }
        let input: IOBuffer
        if let existing = client.input { input = existing } else { input = pool.takeBuffer(); client.input = input }
        input.reset()
        switch readSocket(client.fd, into: input.base, count: input.capacity,
                          readable: &client.readable, hangUpSignalled: client.hangUpSignalled) {
        case .bytes:
            return true
        case .wouldBlock:
            client.readable = false
            return progressed
        case .endOfFile, .failed:
            closeClient(client)
            return false
        }
    }
}
