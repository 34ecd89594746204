/// Where the routing state is kept (YAML `state`): the local `state_dir` of one instance (the default), or an etcd
/// cluster that several instances share, under a key prefix of the cluster's own.
public struct StateConfig: Sendable, Hashable {
    public var store: StateStoreKind
    /// The etcd members' client addresses (`host:port`, plain HTTP; `http://` may be written before them).
    public var endpoints: [HostPort]
    /// Every key of the shared state starts with this: `/turnout/<cluster>`.
    public var prefix: String

    public init(store: StateStoreKind = .local, endpoints: [HostPort] = [], prefix: String = "") {
        self.store = store
        self.endpoints = endpoints
        self.prefix = prefix
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
    /// `local`, or `etcd 127.0.0.1:2379,127.0.0.1:22379 /turnout/prod`.
    public var description: String {
        store == .local ? "local" : "etcd \(endpoints.map(\.description).joined(separator: ",")) \(prefix)"
    }
}
