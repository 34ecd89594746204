/// Where the routing state is kept (YAML `state`): the local `state_dir` of one instance (the default), or an etcd
/// cluster that several instances share, under a key prefix of the cluster's own.
public struct StateConfig: Sendable, Hashable {
    public var store: StateStoreKind
    /// The etcd members' client addresses (`host:port`; `http://`, or `https://` with `tls`, may be written before
    /// them).
    public var endpoints: [HostPort]
    /// Every key of the shared state starts with this: `/turnout/<cluster>`.
    public var prefix: String
    /// HTTPS to every member when set (YAML `tls`, or endpoints written `https://`); plain HTTP otherwise.
    public var tls: EtcdTLSConfig?
    /// An etcd user (with auth enabled in etcd) and the file holding its password: both or neither. The instance
    /// authenticates as it and sends the token etcd gives with every request, authenticating again when etcd no
    /// longer knows the token.
    public var username: String?
    public var passwordFile: String?

    public init(store: StateStoreKind = .local, endpoints: [HostPort] = [], prefix: String = "", tls: EtcdTLSConfig? = nil,
                username: String? = nil, passwordFile: String? = nil) {
        self.store = store
        self.endpoints = endpoints
        self.prefix = prefix
        self.tls = tls
        self.username = username
        self.passwordFile = passwordFile
    }
}

/// `state.tls`: how an instance speaks HTTPS to etcd. YAML `tls: {ca_file, server_name, verify, cert, key}`.
public struct EtcdTLSConfig: Sendable, Hashable {
    /// The members' certificates checked as a target group's are: against `ca_file` (the system's store when
    /// nil), naming `server_name` (by default each endpoint's own host).
    public var server: UpstreamTLSConfig
    /// The instance's own certificate and key, for a cluster started with `--client-cert-auth`: both or neither.
    public var cert: String?
    public var key: String?

    public init(server: UpstreamTLSConfig = UpstreamTLSConfig(), cert: String? = nil, key: String? = nil) {
        self.server = server
        self.cert = cert
        self.key = key
    }
}

/// Which store holds the routing state.
public enum StateStoreKind: String, Sendable, CaseIterable {
    /// `state_dir`: a journal and a snapshot on the local disk.
    case local
    /// An etcd v3 cluster, through its JSON gateway.
    case etcd
}

extension StateConfig: CustomStringConvertible {
    /// `local`, or `etcd 127.0.0.1:2379,127.0.0.1:22379 /turnout/prod` (`etcd https://...` over TLS, with the
    /// files it names): what a reload compares, since the store is chosen at start only.
    public var description: String {
        guard store == .etcd else { return "local" }
        let scheme = tls == nil ? "" : "https://"
        var text = "etcd \(endpoints.map { scheme + $0.description }.joined(separator: ",")) \(prefix)"
        if let tls {
            text += " tls(verify: \(tls.server.verify), ca_file: \(tls.server.caFile ?? "-"), "
                + "server_name: \(tls.server.serverName ?? "-"), cert: \(tls.cert ?? "-"), key: \(tls.key ?? "-"))"
        }
        if let username { text += " user \(username) password_file \(passwordFile ?? "-")" }
        return text
    }
}
