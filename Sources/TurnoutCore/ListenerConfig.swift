/// A bind address, its rules, and the groups the requests no rule takes are forwarded to, by percentage.
public struct ListenerConfig: Sendable, Hashable {
    public var name: String
    /// Port 0 asks the kernel for a free port (useful in tests).
    public var bind: HostPort
    /// In configuration order; the weights are percentages that add up to 100.
    public var forward: [WeightedGroup]
    /// Tried in order before `forward`, which stays the default action (the request no rule matched).
    public var rules: [ListenerRule]
    /// HTTPS: set, the listener terminates TLS with these settings; nil, it speaks plain HTTP.
    public var tls: ListenerTLSConfig?
    /// A plain listener that answers every request with a 301 to HTTPS on this port (path and query kept),
    /// forwarding nothing (`redirect_to_https: { port: 443 }`); nil, it forwards.
    public var redirectToHTTPSPort: UInt16?
    /// Its own access log settings over the top-level `access_log` (nil: that one as it is).
    public var accessLog: ListenerAccessLog?
    /// The listener whose rules `rules` are a copy of (`rules_of`; a listener named `test` follows `production`
    /// by default), or nil.
    public var rulesOf: String?
    /// Stickiness and a forced group for `forward`.
    public var affinity: RouteAffinity
    /// A share of the requests `forward` takes copied to another group.
    public var mirror: RouteMirror?

    public init(name: String, bind: HostPort, forward: [WeightedGroup], rules: [ListenerRule] = [],
                tls: ListenerTLSConfig? = nil, redirectToHTTPSPort: UInt16? = nil, accessLog: ListenerAccessLog? = nil,
                affinity: RouteAffinity = .none, mirror: RouteMirror? = nil) {
        self.mirror = mirror
        self.name = name
        self.bind = bind
        self.forward = forward
        self.rules = rules
        self.tls = tls
        self.redirectToHTTPSPort = redirectToHTTPSPort
        self.accessLog = accessLog
        self.affinity = affinity
    }
}
