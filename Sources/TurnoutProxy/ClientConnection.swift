import TurnoutPosix
import TurnoutTLS

/// One accepted client connection: its socket and slot, and its state machine. Owned by a single worker
/// thread; recycled through the worker's free list.
final class ClientConnection {
    var fd: Int32 = -1
    var slot = 0
    var slotGeneration: UInt32 = 0
    var listenerIndex = 0

    /// The peer's numeric address, formatted once at accept for X-Forwarded-For.
    let peerHost = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 1)
    var peerHostLength = 0
    /// The peer's address as rules' `source` blocks compare it (`SocketAddress.mappedIPv6Halves`).
    var peerHigh: UInt64 = 0
    var peerLow: UInt64 = 0
    /// The peer's hang-up (RDHUP/HUP/ERR) was signalled: reads go on to the end of file.
    var hangUpSignalled = false
    /// On an HTTPS listener: the TLS session every read and write of the client goes through (see `Worker+TLS`).
    var tls: TLSSession?
    /// The TLS session of the upstream connection attached to the exchange, when its group re-encrypts: the
    /// upstream reads and writes the machine asks for go through it.
    var upstreamTLS: TLSSession?

    /// Where the connection is in its life, and what it holds there.
    var machine = ClientStateMachine()

    deinit { peerHost.deallocate() }

    var peerHostBytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: peerHost.baseAddress, count: peerHostLength)
    }
}

/// One connection to a target. Attached to a client's exchange (which holds its buffers) while serving it,
/// otherwise parked in its target's idle pool.
final class UpstreamConnection {
    var fd: Int32 = -1
    var slot = 0
    var slotGeneration: UInt32 = 0
    /// The target it connects to; set anew when the object is recycled for another connection.
    var target: TargetState
    /// The non-blocking connect completed.
    var connected = false
    /// Edge-triggered readiness, cleared when a call finds none.
    var readable = false
    var writable = false
    var hangUpSignalled = false
    /// The client it serves; `nil` while pooled.
    var client: ClientConnection?
    /// Requests completed on this connection (a reused connection may have gone stale).
    var completedExchanges = 0
    var idleSince: UInt64 = 0
    /// To a group with `tls`: the session (which a pooled connection keeps); nil on a plain connection.
    var tls: TLSSession?
    /// Connected, and the TLS handshake under way (`connected` waits for its end).
    var handshaking = false

    init(target: TargetState) { self.target = target }

    /// Readies a closed, recycled object for a new connection to `target`.
    func reuse(for target: TargetState) {
        self.target = target
        connected = false
        readable = false
        writable = false
        hangUpSignalled = false
        client = nil
        completedExchanges = 0
        idleSince = 0
        tls = nil
        handshaking = false
    }
}
