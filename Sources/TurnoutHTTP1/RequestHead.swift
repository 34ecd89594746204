/// A parsed request head. Ranges point into the buffer that was parsed; the fields are in the
/// `HeaderFieldTable` passed to the parser.
public struct RequestHead: Sendable, Equatable {
    public var method: HTTPMethod
    /// The method token as received.
    public var methodRange: ByteRange
    /// The request target as received (origin-, absolute-, authority- or asterisk-form).
    public var target: ByteRange
    /// What is forwarded as the target: the target itself, but for absolute-form the part after the authority
    /// (`/path?query`, which may be empty or start with `?`: the writer puts a `/` in front then).
    public var originForm: ByteRange
    /// The authority (`host[:port]`) of an absolute-form target: it replaces the Host field (RFC 9112 §3.2.2).
    public var authority: ByteRange?
    public var version: HTTPVersion
    /// Bytes from the start of the buffer up to and including the final CRLFCRLF (leading empty lines included):
    /// the body, or the next request, starts here.
    public var headLength: Int
    /// `.none`, `.contentLength` or `.chunked`.
    public var framing: BodyFraming
    /// Whether the client connection may stay open after this exchange: HTTP/1.1 unless `Connection: close`;
    /// HTTP/1.0 only with `Connection: keep-alive` (and no `close`).
    public var keepAlive: Bool
    /// `Expect: 100-continue` on an HTTP/1.1 request (ignored on HTTP/1.0, RFC 9110 §10.1.1).
    public var expectContinue: Bool
    /// HTTP/1.1 with a Connection header naming `upgrade` and an Upgrade header present.
    public var isUpgrade: Bool
    /// The value of the Host field, if any.
    public var host: ByteRange?
    /// Whether the client sent an X-Request-Id field.
    public var hasRequestId: Bool
    /// Index in the field table of the last X-Forwarded-For field, if any; the proxy appends the client there.
    public var xForwardedFor: Int?

    public init(
        method: HTTPMethod, methodRange: ByteRange, target: ByteRange, version: HTTPVersion, headLength: Int,
        framing: BodyFraming, keepAlive: Bool, expectContinue: Bool, isUpgrade: Bool, host: ByteRange?,
        hasRequestId: Bool, xForwardedFor: Int?, originForm: ByteRange? = nil, authority: ByteRange? = nil
    ) {
        self.method = method
        self.methodRange = methodRange
        self.target = target
        self.originForm = originForm ?? target
        self.authority = authority
        self.version = version
        self.headLength = headLength
        self.framing = framing
        self.keepAlive = keepAlive
        self.expectContinue = expectContinue
        self.isUpgrade = isUpgrade
        self.host = host
        self.hasRequestId = hasRequestId
        self.xForwardedFor = xForwardedFor
    }
}
