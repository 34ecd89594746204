import Synchronization
import TurnoutCore
import TurnoutPosix

/// A routing table with its targets' addresses parsed and their health applied,
/// ready for workers. Immutable; shared by every worker until the next publish.
public final class PublishedRouting: Sendable {
    public let table: RoutingTable
    /// Bumped by every publish (routing or health); what workers compare.
    let version: UInt64
    /// `addresses[group][target]`; `nil` where a target is not an IP address (the target is skipped: the
    /// control plane resolves names and publishes their addresses, the data plane never looks anything up).
    let addresses: [[SocketAddress?]]
    /// `routable[group][target]`: whether the target may get new requests (health, fail open/closed).
    let routable: [[Bool]]
    /// `failureRuns[group][target]`: the target's failure run, one per target across groups
    /// and kept from one snapshot to the next.
    let failureRuns: [[TargetFailureRun]]
    /// `ruleMatchers[listener]`: the listener's rules compiled, once per routing generation (a health change
    /// republishing the same rules keeps them).
    let ruleMatchers: [RuleMatcher]
    /// `affinities[listener][route]`: route 0 is the listener's forward, `rule + 1` each rule's; nil where the
    /// route has neither stickiness nor a forced group. Compiled once per routing generation, as the rules.
    let affinities: [[AffinityMatcher?]]
    /// Moves with every reload of the targets' CA files: a worker that sees it move makes its client contexts anew.
    let upstreamTLSLoad: UInt64

    init(table: RoutingTable, routable: [[Bool]]?, version: UInt64, addresses: [[SocketAddress?]],
         previous: PublishedRouting?, upstreamTLSLoad: UInt64? = nil) {
        self.table = table
        self.version = version
        self.upstreamTLSLoad = upstreamTLSLoad ?? previous?.upstreamTLSLoad ?? 0
        self.addresses = addresses
        self.routable = routable ?? table.groups.map { Array(repeating: true, count: $0.targets.count) }
        if let previous, previous.table.generation == table.generation,
           previous.table.listeners.map(\.rules) == table.listeners.map(\.rules) {
            ruleMatchers = previous.ruleMatchers
        } else {
            ruleMatchers = table.listeners.map { RuleMatcher($0.rules) }
        }
        if let previous, previous.table.generation == table.generation, previous.table.listeners == table.listeners {
            affinities = previous.affinities
        } else {
            affinities = table.listeners.map { listener in
                let names = { (indices: [Int]) in indices.map { table.groups[$0].name } }
                return [AffinityMatcher(listener.affinity, groupNames: names(listener.groupIndices), weights: listener.weights)]
                    + listener.rules.map { rule in
                        AffinityMatcher(rule.affinity, groupNames: names(rule.forward.groupIndices), weights: rule.forward.weights)
                    }
            }
        }
        var runs: [HostPort: TargetFailureRun] = [:]
        if let previous {
            for (group, runsOfGroup) in zip(previous.table.groups, previous.failureRuns) {
                for (target, run) in zip(group.targets, runsOfGroup) { runs[target] = run }
            }
        }
        failureRuns = table.groups.map { group in
            group.targets.map { target in
                if let known = runs[target] { return known }
                let made = TargetFailureRun()
                runs[target] = made
                return made
            }
        }
    }

    /// Parses every target of `table`: IP addresses, never a lookup, so a publish never blocks.
    static func addresses(of table: RoutingTable) -> [[SocketAddress?]] {
        table.groups.map { group in group.targets.map { SocketAddress.numeric(host: $0.host, port: $0.port) } }
    }
}

/// Hands routing tables from the control side to the workers.
///
/// The switch guarantee rests on this ordering: `publish` stores the new snapshot and
/// then its version (release), under a lock that keeps publishes in order; a worker
/// loads the version (acquire) before every routing decision and takes the snapshot when
/// it moved. A request whose decision is made after `publish` returns therefore uses the
/// new table.
public final class RoutingPublisher: Sendable {
    private let versionValue: Atomic<UInt64>
    private let current: Mutex<PublishedRouting>

    public init(_ table: RoutingTable) {
        let routing = PublishedRouting(table: table, routable: nil, version: 1,
                                       addresses: PublishedRouting.addresses(of: table), previous: nil)
        current = Mutex(routing)
        versionValue = Atomic(1)
    }

    /// The version of the snapshot workers must use.
    @inline(__always)
    var version: UInt64 { versionValue.load(ordering: .acquiring) }

    /// The snapshot in force.
    public var routing: PublishedRouting { current.withLock { $0 } }

    /// The routing table in force.
    public var table: RoutingTable { routing.table }

    /// Makes `table` (with `routable` per group and target; nil = all) the one every
    /// later routing decision uses. Table generations must not go backwards; a health
    /// change republishes the same generation.
    public func publish(_ table: RoutingTable, routable: [[Bool]]? = nil) {
        let addresses = PublishedRouting.addresses(of: table)
        current.withLock { stored in
            precondition(table.generation >= stored.table.generation, "routing generations must not go backwards")
            let next = PublishedRouting(table: table, routable: routable, version: stored.version + 1, addresses: addresses,
                                        previous: stored)
            stored = next
            versionValue.store(next.version, ordering: .releasing)
        }
    }

    /// Republishes the snapshot in force with the next upstream TLS load (see `Proxy.reloadUpstreamTLS`).
    func reloadUpstreamTLS() {
        current.withLock { stored in
            let next = PublishedRouting(table: stored.table, routable: stored.routable, version: stored.version + 1,
                                        addresses: stored.addresses, previous: stored,
                                        upstreamTLSLoad: stored.upstreamTLSLoad + 1)
            stored = next
            versionValue.store(next.version, ordering: .releasing)
        }
    }
}
