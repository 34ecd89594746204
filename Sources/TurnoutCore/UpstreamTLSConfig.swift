/// A target group's `tls`: its upstream connections re-encrypt. YAML `tls: {verify: true, ca_file: ..., server_name: ...}`.
public struct UpstreamTLSConfig: Sendable, Hashable {
    /// The target's certificate must lead to `caFile` (the system's store when nil) and name the host.
    public var verify: Bool
    /// PEM certificates of the authorities a target's chain must lead to.
    public var caFile: String?
    /// The name sent as SNI and checked against the certificate; by default the target's own host.
    public var serverName: String?

    public init(verify: Bool = true, caFile: String? = nil, serverName: String? = nil) {
        self.verify = verify
        self.caFile = caFile
        self.serverName = serverName
    }
}
