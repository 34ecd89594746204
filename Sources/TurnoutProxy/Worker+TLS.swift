import Logging
import TurnoutPosix
import TurnoutTLS

/// HTTPS client connections: TLS is a transport under the connection's state machine. The handshake runs before
/// the machine's first event (the machine waits idle, its deadline `tls_handshake`); then the machine's reads and
/// writes of the client go through the session instead of the socket, and the rest of the machine is the same
/// (its `secure` flag only turns splicing off and the forwarded scheme to https).
extension Worker {
    /// The worker's own contexts for an HTTPS listener, built on its thread (so no two workers share an OpenSSL
    /// context) from the certificates in force, again whenever a reload published new ones. Sessions already
    /// open keep the contexts they began with. A context OpenSSL refuses leaves the listener refusing
    /// connections, logged.
    func tlsContext(for listener: ListenerSocket) -> TLSServerContext? {
        guard let publisher = listener.tls else { return nil }
        let index = listener.listenerIndex
        if tlsContexts.count <= index {
            tlsContexts += [TLSServerContext?](repeating: nil, count: index + 1 - tlsContexts.count)
            tlsVersions += [UInt64](repeating: 0, count: index + 1 - tlsVersions.count)
        }
        let version = publisher.version
        if version != tlsVersions[index] {
            tlsVersions[index] = version
            do {
                tlsContexts[index] = try TLSServerContext(publisher.configuration, library: openSSL)
            } catch {
                tlsContexts[index] = nil
                logger.error("cannot set up TLS for the listener", metadata: [
                    "listener": .stringConvertible(index), "error": "\(error)",
                ])
            }
        }
        return tlsContexts[index]
    }

    /// Advances a client's handshake; true once it is done and the machine may run. A failed handshake closes the
    /// connection (and says why at debug level: scanners and expired clients fail handshakes all day).
    func advanceHandshake(_ client: ClientConnection, _ tls: TLSSession) -> Bool {
        switch tls.handshake() {
        case .done:
            listenerCounters[client.listenerIndex].recordHandshake()
            client.machine.handshakeCompleted(environment)
            return true
        case .wantRead:
            client.machine.readable = false
        case .wantWrite:
            client.machine.writable = false
        case .failed(let failure, let reason):
            listenerCounters[client.listenerIndex].recordHandshakeFailure(failure)
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
        // A short read may leave whole records in the session or the socket: readiness ends at WANT_READ, or when
        // the session says the socket was drained and nothing is left in it.
        let result = tls.read(into: bytes)
        if case .bytes = result, !client.hangUpSignalled, tls.drained { client.machine.readable = false }
        return result
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
