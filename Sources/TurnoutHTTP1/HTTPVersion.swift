/// The HTTP/1.x versions Turnout speaks. Anything else is refused while parsing.
public enum HTTPVersion: UInt8, Sendable {
    case http10
    case http11
}

extension HTTPVersion {
    /// How the version token of a start line reads.
    enum Token {
        case supported(HTTPVersion)
        /// Well-formed `HTTP/x.y` with single digits, but neither 1.0 nor 1.1.
        case unsupported
        case malformed
    }

    /// Reads `HTTP/1.1` or `HTTP/1.0` exactly (case-sensitive, RFC 9112 §2.3).
    static func read(_ token: UnsafeRawBufferPointer) -> Token {
        guard token.count == 8, token.slice(ByteRange(0, 5)).equals("HTTP/"),
            ASCII.isDigit(token[5]), token[6] == UInt8(ascii: "."), ASCII.isDigit(token[7])
        else { return .malformed }
        if token[5] == UInt8(ascii: "1") {
            if token[7] == UInt8(ascii: "1") { return .supported(.http11) }
            if token[7] == UInt8(ascii: "0") { return .supported(.http10) }
        }
        return .unsupported
    }
}
