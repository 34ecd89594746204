/// Time limits of the data plane. Every one must be above zero.
public struct Timeouts: Sendable, Hashable {
    /// Non-blocking connect to a target.
    public var connect: ConfigDuration
    /// From a client connection's first byte (or the end of its previous request) to a complete request head.
    public var clientHeader: ConfigDuration
    /// A keep-alive client connection with no request in progress is closed after this.
    public var clientIdle: ConfigDuration
    /// From the end of the request to the response head, and between response body reads. A target group may
    /// set its own (`GroupTimeouts`). Requests already waiting when their target turns unhealthy keep waiting up
    /// to this limit (as with Envoy, HAProxy and ALB); it bounds how long a hung target holds them.
    public var upstreamResponse: ConfigDuration
    /// A pooled, idle upstream connection is closed after this.
    public var upstreamIdle: ConfigDuration
    /// On shutdown, in-flight requests get this long to finish.
    public var shutdownGrace: ConfigDuration
    /// An HTTPS client connection whose TLS handshake is not done within this is closed.
    public var tlsHandshake: ConfigDuration

    public init(
        connect: ConfigDuration = .seconds(5),
        clientHeader: ConfigDuration = .seconds(10),
        clientIdle: ConfigDuration = .seconds(60),
        upstreamResponse: ConfigDuration = .seconds(15),
        upstreamIdle: ConfigDuration = .seconds(30),
        shutdownGrace: ConfigDuration = .seconds(10),
        tlsHandshake: ConfigDuration = .seconds(10)
    ) {
        self.connect = connect
        self.clientHeader = clientHeader
        self.clientIdle = clientIdle
        self.upstreamResponse = upstreamResponse
        self.upstreamIdle = upstreamIdle
        self.shutdownGrace = shutdownGrace
        self.tlsHandshake = tlsHandshake
    }
}
