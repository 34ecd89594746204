/// A request method. Methods outside the RFC 9110 set (and extension methods like PROPFIND) are `.other`;
/// their bytes stay available through `RequestHead.methodRange`. Matching is case-sensitive, as methods are.
public enum HTTPMethod: UInt8, Sendable {
    case get, head, post, put, delete, options, trace, patch, connect, other

    /// RFC 9110 §9.2.2: a request that may be repeated with the same effect, so the proxy may retry it on
    /// another target after it may have reached a backend.
    @inlinable
    public var isIdempotent: Bool {
        switch self {
        case .get, .head, .put, .delete, .options, .trace: return true
        case .post, .patch, .connect, .other: return false
        }
    }
}

extension HTTPMethod {
    /// Recognises the method token in `bytes[range]`.
    static func recognise(_ bytes: UnsafeRawBufferPointer, _ range: ByteRange) -> HTTPMethod {
        let token = bytes.slice(range)
        switch token.count {
        case 3:
            if token.equals("GET") { return .get }
            if token.equals("PUT") { return .put }
        case 4:
            if token.equals("HEAD") { return .head }
            if token.equals("POST") { return .post }
        case 5:
            if token.equals("PATCH") { return .patch }
            if token.equals("TRACE") { return .trace }
        case 6:
            if token.equals("DELETE") { return .delete }
        case 7:
            if token.equals("OPTIONS") { return .options }
            if token.equals("CONNECT") { return .connect }
        default:
            break
        }
        return .other
    }
}
