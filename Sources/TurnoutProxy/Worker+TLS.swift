import Logging
import TurnoutPosix
import TurnoutTLS

/// HTTPS client connections: TLS is a transport under the connection's state machine. The handshake runs before
/// the machine's first event (the machine waits idle, its deadline `tls_handshake`); then the machine's reads and
/// writes of the client go through the session instead of the socket, and the rest of the machine is the same
/// (its `secure` flag only turns splicing off and the forwarded scheme to https).
extension Worker {
    /// This worker's own contexts for its HTTPS listeners, by listener index (nil: plain HTTP). Built on the
    /// worker's thread, so no two workers share an OpenSSL context. A context OpenSSL refuses leaves the listener
    /// refusing connections, logged once.
    static func makeTLSContexts(_ listeners: [ListenerSocket], logger: Logger) -> [TLSServerContext?] {
        let count = (listeners.map(\.listenerIndex).max() ?? -1) + 1
        var contexts = [TLSServerContext?](repeating: nil, count: count)
        for listener in listeners {
            guard let configuration = listener.tls else { continue }
            do {
                contexts[listener.listenerIndex] = try TLSServerContext(configuration)
            } catch {
                logger.error("cannot set up TLS for the listener", metadata: [
                    "listener": .stringConvertible(listener.listenerIndex), "error": "\(error)",
                ])
            }
        }
        return contexts
    }

    /// Advances a client's handshake; true once it is done and the machine may run. A failed handshake closes the
    /// connection (and says why at debug level: scanners and expired clients fail handshakes all day).
    func advanceHandshake(_ client: ClientConnection, _ tls: TLSSession) -> Bool {
        switch tls.handshake() {
        case .done:
            client.machine.handshakeCompleted(environment)
            return true
        case .wantRead:
            client.machine.readable = false
        case .wantWrite:
            client.machine.writable = false
        case .failed(let reason):
            logger.debug("TLS handshake failed", metadata: ["client": "\(peerDescription(client))", "reason": "\(reason)"])
            closeClient(client)
        }
        return false
    }

    /// Reads from the client: through its TLS session, or the socket.
    @inline(__always)
    func readClient(_ client: ClientConnection, into bytes: UnsafeMutableRawBufferPointer) -> IOResult {
        guard let tls = client.tls else {
            return readSocket(client.fd, into: bytes, readable: &client.machine.readable,
                              hangUpSignalled: client.hangUpSignalled)
        }
        // Readiness ends only at WANT_READ: a short read may leave whole records in the session or the socket.
        return tls.read(into: bytes)
    }

    /// Writes to the client: through its TLS session, or the socket. Write readiness is cleared when nothing went.
    @inline(__always)
    func writeClient(_ client: ClientConnection, from bytes: UnsafeRawBufferPointer) -> IOResult {
        guard let tls = client.tls else { return writeSocket(client.fd, from: bytes, writable: &client.machine.writable) }
        let result = tls.write(from: bytes)
        if case .wouldBlock = result { client.machine.writable = false }
        return result
    }

    /// Shuts down the client's sending side; over TLS, close_notify goes first, so the peer reads the end as
    /// whole.
    func shutdownClientOutput(_ client: ClientConnection) {
        client.tls?.sendCloseNotify()
        Socket.shutdownWrite(client.fd)
    }

    /// Readiness for a session that crossed directions: a read that waits for room, or a write that waits for
    /// input, is woken by the other direction's event.
    @inline(__always)
    func crossReadiness(_ tls: TLSSession, _ client: ClientConnection, readable: Bool, writable: Bool) {
        if writable && tls.readWantsWrite { client.machine.readable = true }
        if readable && tls.writeWantsRead { client.machine.writable = true }
    }
}
