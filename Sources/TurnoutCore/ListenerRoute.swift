/// One listener in a routing snapshot: where it binds and how its requests are spread over groups.
public struct ListenerRoute: Sendable, Hashable {
    public let name: String
    public let bind: HostPort
    /// Indices into `RoutingTable.groups`, in configuration order.
    public let groupIndices: [Int]
    /// Parallel to `groupIndices`. Zero weights are kept (the group stays listed); pickers skip them.
    public let weights: [Int]

    init(name: String, bind: HostPort, groupIndices: [Int], weights: [Int]) {
        self.name = name
        self.bind = bind
        self.groupIndices = groupIndices
        self.weights = weights
    }
}
