import Glibc

/// Why no usable response came back from the admin API.
enum AdminTransportError: Error, CustomStringConvertible {
    /// No connection could be made (resolution, refused, unreachable, connect timeout).
    case unreachable(String)
    /// The connection broke before a complete response arrived; nothing says whether the server acted.
    case connectionLost(String)
    /// No complete response within the timeout after the request was sent.
    case timedOut(seconds: Int)
    /// Something answered, but not with HTTP/1.x the client understands.
    case malformedResponse(String)

    var description: String {
        switch self {
        case .unreachable(let reason): return reason
        case .connectionLost(let reason): return "connection lost before the response: \(reason)"
        case .timedOut(let seconds): return "no response within \(seconds)s"
        case .malformedResponse(let reason): return "malformed response: \(reason)"
        }
    }

    /// Whether sending the same request again on a new connection is the right answer.
    var isRetryable: Bool {
        if case .connectionLost = self { return true }
        return false
    }

    static func describe(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
