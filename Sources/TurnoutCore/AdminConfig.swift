/// The admin API listener.
public struct AdminConfig: Sendable, Hashable {
    /// A non-loopback bind requires `tokenFile`.
    public var bind: HostPort
    /// File holding the bearer token callers must present; no authentication when nil.
    public var tokenFile: String?

    public static let defaultBind = HostPort(host: "127.0.0.1", port: 9901)

    public init(bind: HostPort = AdminConfig.defaultBind, tokenFile: String? = nil) {
        self.bind = bind
        self.tokenFile = tokenFile
    }
}
