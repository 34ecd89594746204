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

extension KnownHeader {
    /// Recognises a header name (already validated as a token), ignoring ASCII case.
    static func recognise(_ name: UnsafeRawBufferPointer) -> KnownHeader {
        switch name.count {
        case 2:
            if name.equalsIgnoringCase("te") { return .te }
        case 3:
            if name.equalsIgnoringCase("via") { return .via }
        case 4:
            if name.equalsIgnoringCase("host") { return .host }
        case 6:
            if name.equalsIgnoringCase("expect") { return .expect }
        case 7:
            if name.equalsIgnoringCase("upgrade") { return .upgrade }
            if name.equalsIgnoringCase("trailer") { return .trailer }
        case 10:
            if name.equalsIgnoringCase("connection") { return .connection }
            if name.equalsIgnoringCase("keep-alive") { return .keepAlive }
        case 12:
            if name.equalsIgnoringCase("x-request-id") { return .xRequestId }
        case 14:
            if name.equalsIgnoringCase("content-length") { return .contentLength }
        case 15:
            if name.equalsIgnoringCase("x-forwarded-for") { return .xForwardedFor }
        case 16:
            if name.equalsIgnoringCase("proxy-connection") { return .proxyConnection }
            if name.equalsIgnoringCase("x-forwarded-port") { return .xForwardedPort }
        case 17:
            if name.equalsIgnoringCase("transfer-encoding") { return .transferEncoding }
            if name.equalsIgnoringCase("x-forwarded-proto") { return .xForwardedProto }
        default:
            break
        }
        return .other
    }
}
