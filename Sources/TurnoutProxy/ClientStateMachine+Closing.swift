import TurnoutHTTP1

/// Answering with a canned response, and the close that follows: flushing, then lingering or not.
extension ClientStateMachine {
    /// Answers the client with a canned `status` response and closes after it; the upstream (its state is
    /// unknown) and any relay are released. Interim heads still waiting go out first: one may be partly written,
    /// and the final response follows them. A response already under way is aborted instead, so the client sees
    /// a failure rather than a truncated success; so is a client whose output has no room for the answer.
    /// `replacingResponse`: the response's head is dropped from the output unsent, and the answer replaces it.
    ///
    /// Called within a transition, with the parts of the state it leaves: an exchange, routed (`link`) or not.
    mutating func respond(_ status: UInt16, _ failure: ConnectionFailure, _ exchange: Exchange, _ link: UpstreamLink?,
                          _ env: ConnectionEnvironment, replacingResponse: Bool = false) -> ClientAction {
        let buffers = exchange.buffers
        guard let output = room(for: status, in: buffers),
              replacingResponse || !exchange.responseStarted else {
            // The connection closes from the state it was in.
            if let link {
                state = .exchanging(exchange, link)
            } else {
                state = .routing(exchange, excluding: nil, orExcluded: false)
            }
            return closing(abort: true, failure, proxyError: status, route: exchange.routeCounters)
        }
        output.append(ErrorResponse.bytes(status: status))
        noteAccess(exchange, status: status, bytesOut: ErrorResponse.bytes(status: status).count, env)
        let route = exchange.routeCounters
        release(link, exchange.relays)
        let linger = !Self.closesWithoutLinger(exchange, input: buffers.input)
        env.pool.give(exchange)
        beginClosing(buffers, linger: linger, env)
        return failing(failure, answer: status, route: route)
    }

    /// Answers a request whose head is being read (so there is no exchange yet).
    mutating func respond(_ status: UInt16, _ failure: ConnectionFailure, _ buffers: ClientBuffers,
                          _ env: ConnectionEnvironment) -> ClientAction {
        guard let output = room(for: status, in: buffers) else {
            state = .readingHead(buffers)
            return closing(abort: true, failure, proxyError: status)
        }
        output.append(ErrorResponse.bytes(status: status))
        noteAccess(status: status, bytesOut: ErrorResponse.bytes(status: status).count)
        beginClosing(buffers, linger: true, env)
        return failing(failure, answer: status)
    }

    /// The client's output, if it has room (once compacted) for the canned `status` response.
    func room(for status: UInt16, in buffers: ClientBuffers) -> IOBuffer? {
        let output = buffers.output
        let count = ErrorResponse.bytes(status: status).count
        if output.freeSpace < count { output.compact() }
        return output.freeSpace >= count ? output : nil
    }

    /// Flush what is pending, then close. A lingering close shuts down our side first and reads and discards
    /// until the client closes or the linger timeout passes: closing with unread input would send a reset that
    /// can destroy the response before the client reads it.
    mutating func beginClosing(_ buffers: ClientBuffers, linger: Bool, _ env: ConnectionEnvironment) {
        state = .closing(buffers, linger: linger)
        deadline = env.now &+ env.settings.lingerTimeout
    }

    /// Whether the connection may close as soon as the response is out, without lingering: the client said it
    /// sends nothing more (`Connection: close`, or HTTP/1.0 without keep-alive), its request was read whole and
    /// no byte after it is buffered, so closing cannot reset a response the client has yet to read
    /// (RFC 9112 §9.6).
    static func closesWithoutLinger(_ exchange: Exchange, input: IOBuffer) -> Bool {
        guard !exchange.request.keepAlive, exchange.requestComplete else { return false }
        return exchange.headPinned ? input.writeIndex == exchange.bodyCursor : input.isEmpty
    }

    mutating func closingNext(_ buffers: ClientBuffers, linger: Bool) -> ClientAction {
        state = .closing(buffers, linger: linger)
        let output = buffers.output
        if !output.isEmpty { return writable ? .writeClient(output.pending) : .wait }
        guard linger else { return .close(abort: false) }
        state = .lingering(buffers)
        return .shutdownClientOutput
    }

    /// Flushes a rule's answer, then goes on as after a forwarded response: the next request (pipelined bytes
    /// stay) or idle; a worker that drains closes instead. The client has `client_idle` to take the answer.
    mutating func answeringNext(_ buffers: ClientBuffers, _ env: ConnectionEnvironment) -> ClientAction {
        let output = buffers.output
        if !output.isEmpty {
            state = .answering(buffers)
            deadline = env.now &+ env.settings.clientIdleTimeout
            return writable ? .writeClient(output.pending) : .wait
        }
        if env.draining {
            beginClosing(buffers, linger: !buffers.input.isEmpty, env)
            return closingNext(buffers, linger: !buffers.input.isEmpty)
        }
        deadline = env.now &+ env.settings.clientIdleTimeout
        return readHead(buffers, env)
    }

    mutating func lingeringNext(_ buffers: ClientBuffers) -> ClientAction {
        let input = buffers.input
        state = .lingering(buffers)
        guard readable else { return .wait }
        input.reset()
        return .readClient(input.tail)
    }
}
