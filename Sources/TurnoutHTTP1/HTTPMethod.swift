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
