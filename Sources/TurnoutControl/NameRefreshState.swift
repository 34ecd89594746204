import TurnoutCore

/// The lookups of the names registered in every group, with no thread, loop or clock of its own: which name is
/// looked up when, and each name's `NameResolution`. Time comes in as `now` (monotonic ns), so the tests drive it
/// step by step; `NameRefresher` carries out what it decides.
///
/// A name is looked up as soon as it is registered, then every `dns_refresh` of its group. A lookup still
/// running when the next one is due (a DNS server that does not answer: `getaddrinfo` waits for the resolver's
/// timeouts) makes that turn skip. A name registered in two groups is looked up for each, on each group's
/// schedule.
struct NameRefreshState {
    struct Entry {
        let name: HostPort
        var resolution = NameResolution()
        /// When the next lookup is due (monotonic ns).
        var nextLookup: UInt64
        /// The lookup running for the name; nil when none runs.
        var running: UInt64?
    }

    struct Group {
        var refresh: UInt64
        /// In registration order.
        var entries: [Entry]
    }

    private(set) var groups: [String: Group] = [:]
    /// Group names in the order of the last update.
    private(set) var order: [String] = []
    private var lastLookup: UInt64 = 0

    /// Takes the current groups: a new name is due at once, a removed one (or a removed group) is forgotten
    /// (the answer of a lookup still running for it will be ignored), a kept one keeps its state. A shorter
    /// `dns_refresh` brings the next lookup forward to at most the new interval from now.
    mutating func update(groups routes: [GroupRoute], now: UInt64) {
        var next: [String: Group] = [:]
        for route in routes {
            let refresh = route.dnsRefresh.nanoseconds
            let known = groups[route.name]
            var entries: [Entry] = []
            for name in route.names where !entries.contains(where: { $0.name == name }) {
                if var entry = known?.entries.first(where: { $0.name == name }) {
                    entry.nextLookup = min(entry.nextLookup, now + refresh)
                    entries.append(entry)
                } else {
                    entries.append(Entry(name: name, nextLookup: now))
                }
            }
            if !entries.isEmpty { next[route.name] = Group(refresh: refresh, entries: entries) }
        }
        groups = next
        order = routes.map(\.name).filter { next[$0] != nil }
    }

    /// When the earliest lookup is due; nil when no group has a name.
    var nextDeadline: UInt64? {
        groups.values.lazy.flatMap { $0.entries.lazy.map(\.nextLookup) }.min()
    }

    /// The lookups to start at `now`, in group and registration order; each due name's next lookup is one
    /// `dns_refresh` later, and a name whose last lookup still runs skips this turn.
    mutating func dueLookups(now: UInt64) -> [NameLookupOrder] {
        var orders: [NameLookupOrder] = []
        for name in order {
            guard var group = groups[name] else { continue }
            for index in group.entries.indices where group.entries[index].nextLookup <= now {
                group.entries[index].nextLookup = now + group.refresh
                guard group.entries[index].running == nil else { continue }
                lastLookup += 1
                group.entries[index].running = lastLookup
                orders.append(NameLookupOrder(id: lastLookup, group: name, name: group.entries[index].name))
            }
            groups[name] = group
        }
        return orders
    }

    /// Records the answer of `lookup`, which finished at `wallMilliseconds`. Nil for the answer of a lookup whose
    /// name is no longer registered (or was registered again since).
    mutating func record(_ answer: NameAnswer, of lookup: NameLookupOrder, wallMilliseconds: UInt64) -> NameAnswered? {
        guard var group = groups[lookup.group],
              let index = group.entries.firstIndex(where: { $0.running == lookup.id })
        else { return nil }
        group.entries[index].running = nil
        let previous = group.entries[index].resolution.record(answer, wallMilliseconds: wallMilliseconds)
        groups[lookup.group] = group
        return NameAnswered(group: lookup.group, name: lookup.name, answer: answer,
                            resolution: group.entries[index].resolution, previousPhase: previous)
    }

    /// What is known of `name` in `group`; nil when it is not registered there.
    func resolution(group: String, name: HostPort) -> NameResolution? {
        groups[group]?.entries.first { $0.name == name }?.resolution
    }

    /// Whether every registered name has had an answer (found addresses or failed).
    var everyNameAnswered: Bool {
        groups.values.allSatisfy { $0.entries.allSatisfy { $0.resolution.phase != .resolving } }
    }
}
