/// The admin API listener.
public struct AdminConfig: Sendable, Hashable {
    /// A non-loopback bind requires `tokenFile`.
    public var bind: HostPort
    /// File holding the bearer token callers must present; no authentication when nil.
    public var tokenFile: String?
    /// Host names a request's `Host` header may carry besides IP addresses, `localhost` and the bind's own host
    /// (YAML `allowed_hosts`): the names the admin API is reached by, such as a container's name. Anything else is
    /// refused, so that a web page cannot reach the API through a name it controls (DNS rebinding).
    public var allowedHosts: [String]

    public static let defaultBind = HostPort(host: "127.0.0.1", port: 9901)

    public init(bind: HostPort = AdminConfig.defaultBind, tokenFile: String? = nil, allowedHosts: [String] = []) {
        self.bind = bind
        self.tokenFile = tokenFile
        self.allowedHosts = allowedHosts
    }
}
