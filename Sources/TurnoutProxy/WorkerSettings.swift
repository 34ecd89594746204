import TurnoutCore
import TurnoutHTTP1
import TurnoutTLS

/// The numbers a worker needs from the configuration, in the units it uses.
struct WorkerSettings: Sendable {
    var connectTimeout: UInt64
    var clientHeaderTimeout: UInt64
    var clientIdleTimeout: UInt64
    var tlsHandshakeTimeout: UInt64
    var upstreamIdleTimeout: UInt64
    var lingerTimeout: UInt64 = 1_000_000_000
    var limits: HeadLimits
    var maxConnections: Int
    var bufferCapacity: Int
    /// How long a refused target is skipped before it is tried again.
    var refusedBackoff: UInt64 = 1_000_000_000

    init(config: TurnoutConfig, workers: Int) {
        let t = config.timeouts
        connectTimeout = t.connect.nanoseconds
        clientHeaderTimeout = t.clientHeader.nanoseconds
        clientIdleTimeout = t.clientIdle.nanoseconds
        tlsHandshakeTimeout = t.tlsHandshake.nanoseconds
        upstreamIdleTimeout = t.upstreamIdle.nanoseconds
        limits = HeadLimits(maxHeaderBytes: config.limits.maxHeaderBytes, maxHeaders: config.limits.maxHeaders)
        maxConnections = max(1, config.limits.maxConnections / max(1, workers))
        // A head at the limit must fit with room to spare for the headers the proxy adds.
        bufferCapacity = max(16 * 1024, config.limits.maxHeaderBytes + 4096)
    }
}

/// A listening socket bound for one worker.
struct ListenerSocket: Sendable {
    let fd: Int32
    let listenerIndex: Int
    let port: UInt16
    /// An HTTPS listener's certificates in force, from which the worker builds its own contexts.
    var tls: CertificatePublisher? = nil
    /// Nonzero: the listener answers every request with a redirect to HTTPS on this port.
    var redirectToHTTPSPort: UInt16 = 0
}
