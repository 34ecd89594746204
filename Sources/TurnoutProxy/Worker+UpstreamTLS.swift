import Glibc
import Logging
import TurnoutCore
import TurnoutTLS

/// Upstream connections to a group with `tls`: a client-side session made right after the connect, whose
/// handshake runs while the client's machine still waits in `connecting` (so the `connect` deadline covers both,
/// and a refused handshake is a connect failure: retried elsewhere, then 502, counted against the target). Once
/// established, the machine's upstream reads and writes go through the session (`ClientConnection.upstreamTLS`)
/// and nothing is spliced; a pooled connection keeps its session.
extension Worker {
    /// This worker's client context for `settings`, made on first use (on the worker's thread, so no two workers
    /// share one) and kept in `known`. A CA file that can no longer be read leaves the group's connections plain
    /// refused: nil, logged.
    func upstreamTLSContext(_ settings: UpstreamTLSConfig,
                            known: inout [UpstreamTLSConfig: TLSClientContext]) -> TLSClientContext? {
        if let context = known[settings] { return context }
        do {
            let context = try TLSClientContext(verify: settings.verify, caFile: settings.caFile, library: openSSL)
            known[settings] = context
            return context
        } catch {
            logger.error("cannot set up TLS to the targets", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// Gives a new upstream connection its session, named for the group's `server_name` or the target's host;
    /// false when OpenSSL has no memory for one. The connection stays unconnected until the handshake is done.
    func startTLS(_ upstream: UpstreamConnection, _ context: TLSClientContext, group: Int) -> Bool {
        let serverName = routing.routing.table.groups[group].tls?.serverName ?? upstream.target.key.host
        guard let session = context.makeSession(fd: upstream.fd, serverName: serverName) else { return false }
        upstream.tls = session
        upstream.handshaking = upstream.connected
        upstream.connected = false
        return true
    }

    /// Advances an upstream connection's handshake; done, the client's machine learns it is connected.
    func advanceUpstreamHandshake(_ upstream: UpstreamConnection, for client: ClientConnection) {
        guard let tls = upstream.tls else { return }
        switch tls.handshake() {
        case .done:
            client.machine.connectingLink?.counters.recordTLSHandshake()
            upstream.handshaking = false
            upstream.connected = true
            drive(client)
        case .wantRead:
            upstream.readable = false
        case .wantWrite:
            upstream.writable = false
        case .failed(let failure, let reason):
            client.machine.connectingLink?.counters.recordTLSHandshakeFailure(failure)
            logger.warning("upstream TLS handshake failed", metadata: ["target": "\(upstream.target.key)", "reason": "\(reason)"])
            drive(client, from: client.machine.connectFailed(errno: EPROTO, environment))
        }
    }
}
