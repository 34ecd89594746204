/// The values the proxy adds to a forwarded request.
public struct ForwardedFor {
    /// The client's address as text (`192.0.2.7`, `2001:db8::1`), appended to X-Forwarded-For.
    public var clientAddress: UnsafeRawBufferPointer
    /// `http` or `https`, sent as X-Forwarded-Proto.
    public var proto: StaticString
    /// The port the client connected to, sent as X-Forwarded-Port.
    public var port: UInt16
    /// A generated request id sent as X-Request-Id; nil when the request already has one.
    public var requestId: UnsafeRawBufferPointer?
    /// The target's `host:port`: the Host of a request that came without one (HTTP/1.0), so that the
    /// upstream gets what it would from a client that addressed it directly.
    public var targetAuthority: UnsafeRawBufferPointer

    public init(
        clientAddress: UnsafeRawBufferPointer, proto: StaticString, port: UInt16,
        requestId: UnsafeRawBufferPointer?, targetAuthority: UnsafeRawBufferPointer
    ) {
        self.clientAddress = clientAddress
        self.proto = proto
        self.port = port
        self.requestId = requestId
        self.targetAuthority = targetAuthority
    }
}
