/// A parsed response head. Ranges point into the buffer that was parsed; the fields are in the
/// `HeaderFieldTable` passed to the parser.
public struct ResponseHead: Sendable, Equatable {
    /// The status code, 100...999.
    public var status: UInt16
    public var version: HTTPVersion
    /// Bytes from the start of the buffer up to and including the final CRLFCRLF.
    public var headLength: Int
    /// How the body is delimited, per RFC 9112 §6.3 and the request method.
    public var framing: BodyFraming
    /// Whether the upstream connection may be reused after the body.
    public var keepAlive: Bool
    /// The connection becomes a tunnel after this head: a 101 response, or a 2xx response to CONNECT.
    public var isUpgrade: Bool
    /// The reason phrase as received (may be empty).
    public var reason: ByteRange

    public init(
        status: UInt16, version: HTTPVersion, headLength: Int, framing: BodyFraming, keepAlive: Bool,
        isUpgrade: Bool, reason: ByteRange
    ) {
        self.status = status
        self.version = version
        self.headLength = headLength
        self.framing = framing
        self.keepAlive = keepAlive
        self.isUpgrade = isUpgrade
        self.reason = reason
    }
}
