/// The header fields the proxy acts on, recognised once while parsing so later stages switch on a byte
/// instead of comparing names.
public enum KnownHeader: UInt8, Sendable {
    case other, host, contentLength, transferEncoding, connection, keepAlive,
        proxyConnection, te, trailer, upgrade, expect, xForwardedFor, xForwardedProto, xForwardedPort, xRequestId, via

    /// Fields that describe one connection and are never forwarded (RFC 9110 §7.6.1, plus the legacy
    /// Keep-Alive and Proxy-Connection). Upgrade is among them: the proxy re-adds it itself when tunnelling.
    /// Content-Length is not: it travels with the body.
    @inlinable
    public var isAlwaysHopByHop: Bool {
        switch self {
        case .connection, .keepAlive, .proxyConnection, .te, .transferEncoding, .trailer, .upgrade:
            return true
        case .other, .host, .contentLength, .expect, .xForwardedFor, .xForwardedProto, .xForwardedPort,
            .xRequestId, .via:
            return false
        }
    }
}
