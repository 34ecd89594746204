import Synchronization
import TurnoutCore
import TurnoutPosix

/// A routing table with its targets' addresses resolved, ready for workers.
/// Immutable; shared by every worker until the next publish.
public final class PublishedRouting: Sendable {
    public let table: RoutingTable
    /// `addresses[group][target]`; `nil` where a name did not resolve (the target is skipped).
    let addresses: [[SocketAddress?]]

    /// Resolves every target (blocking `getaddrinfo`): call off the data path.
    init(table: RoutingTable) {
        self.table = table
        addresses = table.groups.map { group in
            group.targets.map { try? SocketAddress.resolve(host: $0.host, port: $0.port) }
        }
    }
}

/// Hands routing tables from the control side to the workers.
///
/// The switch guarantee rests on this ordering: `publish` stores the new table, then
/// the generation (release); a worker loads the generation (acquire) before every
/// routing decision and takes the table when it moved. A request whose decision is made
/// after `publish` returns therefore uses the new table.
public final class RoutingPublisher: Sendable {
    private let generationValue: Atomic<UInt64>
    private let current: Mutex<PublishedRouting>

    public init(_ table: RoutingTable) {
        let routing = PublishedRouting(table: table)
        current = Mutex(routing)
        generationValue = Atomic(table.generation)
    }

    /// The generation of the table workers must use.
    @inline(__always)
    public var generation: UInt64 { generationValue.load(ordering: .acquiring) }

    /// The table in force.
    public var routing: PublishedRouting { current.withLock { $0 } }

    /// Makes `table` the one every later routing decision uses. Generations must grow.
    public func publish(_ table: RoutingTable) {
        let routing = PublishedRouting(table: table)
        current.withLock { stored in
            precondition(table.generation > stored.table.generation, "routing generations must increase")
            stored = routing
            generationValue.store(table.generation, ordering: .releasing)
        }
    }
}
