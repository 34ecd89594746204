/// How the body after a head is delimited (RFC 9112 §6.3).
public enum BodyFraming: Sendable, Equatable {
    /// No body follows.
    case none
    /// Exactly this many bytes follow (possibly 0).
    case contentLength(UInt64)
    /// A chunked body follows; decode its framing with `ChunkedDecoder`.
    case chunked
    /// The body runs until the sender closes the connection (responses only).
    case untilClose
}
