/// A bind address and the groups its requests are forwarded to, by percentage.
public struct ListenerConfig: Sendable, Hashable {
    public var name: String
    /// Port 0 asks the kernel for a free port (useful in tests).
    public var bind: HostPort
    /// In configuration order; the weights are percentages that add up to 100.
    public var forward: [WeightedGroup]

    public init(name: String, bind: HostPort, forward: [WeightedGroup]) {
        self.name = name
        self.bind = bind
        self.forward = forward
    }
}
