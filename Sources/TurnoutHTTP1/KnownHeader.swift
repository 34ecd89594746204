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
            if isName(name, "te") { return .te }
        case 3:
            if isName(name, "via") { return .via }
        case 4:
            if isName(name, "host") { return .host }
        case 6:
            if isName(name, "expect") { return .expect }
        case 7:
            if isName(name, "upgrade") { return .upgrade }
            if isName(name, "trailer") { return .trailer }
        case 10:
            if isName(name, "connection") { return .connection }
            if isName(name, "keep-alive") { return .keepAlive }
        case 12:
            if isName(name, "x-request-id") { return .xRequestId }
        case 14:
            if isName(name, "content-length") { return .contentLength }
        case 15:
            if isName(name, "x-forwarded-for") { return .xForwardedFor }
        case 16:
            if isName(name, "proxy-connection") { return .proxyConnection }
            if isName(name, "x-forwarded-port") { return .xForwardedPort }
        case 17:
            if isName(name, "transfer-encoding") { return .transferEncoding }
            if isName(name, "x-forwarded-proto") { return .xForwardedProto }
        default:
            break
        }
        return .other
    }

    /// Whether `name` is `lowercaseLiteral` in any ASCII case, eight bytes at a time; the caller checked the
    /// lengths are equal. Exact only for token bytes, which the parser has checked: setting bit 5 lowercases a
    /// letter, and the only other bytes it maps onto a literal's digits or `-` are controls, which a token
    /// cannot hold.
    @inline(__always)
    private static func isName(_ name: UnsafeRawBufferPointer, _ lowercaseLiteral: StaticString) -> Bool {
        let count = name.count
        let literal = UnsafeRawBufferPointer(start: lowercaseLiteral.utf8Start, count: count)
        guard count >= 8 else {
            for index in 0..<count where name[index] | 0x20 != literal[index] { return false }
            return true
        }
        let caseBits: UInt64 = 0x2020_2020_2020_2020
        var index = 0
        while true {
            // The last word overlaps the one before when the length is not a multiple of eight.
            let offset = min(index, count - 8)
            let word = name.loadUnaligned(fromByteOffset: offset, as: UInt64.self) | caseBits
            guard word == literal.loadUnaligned(fromByteOffset: offset, as: UInt64.self) else { return false }
            index += 8
            if index >= count { return true }
        }
    }
}
