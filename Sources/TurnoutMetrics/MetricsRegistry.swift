import Synchronization

/// Every worker's data-plane counters, and their Prometheus exposition summed over workers.
///
/// Each worker asks for its own counter block the first time it sees a listener or a route and keeps
/// it; only that worker writes it, so recording costs a plain add on a line no other thread writes.
/// Registration takes a lock (rare); recording never locks or allocates. A scrape reads every block
/// with relaxed loads and sums blocks with the same labels. Blocks live as long as the registry, so a
/// route's counters keep their totals after its target is gone (counters never go backwards).
public final class MetricsRegistry: Sendable {
    /// The default request duration buckets, in seconds.
    public static let defaultDurationBuckets: [Double] =
        [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    private struct Blocks: Sendable {
        var routes: [RouteCounters] = []
        var listeners: [ListenerCounters] = []
        var rules: [RuleCounters] = []
        var mirrors: [MirrorCounters] = []
    }

    private let bounds: BucketBounds
    private let blocks = Mutex(Blocks())

    /// A registry whose request duration histograms have `durationBuckets` (seconds, increasing).
    public init(durationBuckets: [Double] = MetricsRegistry.defaultDurationBuckets) {
        bounds = BucketBounds(seconds: durationBuckets)
    }

    /// Upper bounds of the request duration histograms, in seconds.
    public var durationBuckets: [Double] { bounds.seconds }

    /// A new counter block for requests the calling worker forwards from `listener` to `target` in
    /// `group`. Each call creates a block: call it once per worker and route, and keep the result.
    public func routeCounters(listener: String, group: String, target: String) -> RouteCounters {
        let counters = RouteCounters(listener: listener, group: group, target: target, bounds: bounds)
        blocks.withLock { $0.routes.append(counters) }
        return counters
    }

    /// A new counter block for the calling worker's traffic on `listener`. Each call creates a block:
    /// call it once per worker and listener, and keep the result.
    public func listenerCounters(listener: String) -> ListenerCounters {
        let counters = ListenerCounters(listener: listener)
        blocks.withLock { $0.listeners.append(counters) }
        return counters
    }

    /// A new counter block for the requests the calling worker routes by `rule` of `listener`
    /// (`RuleCounters.defaultRule` for the listener's forward). Each call creates a block: call it once per
    /// worker and rule, and keep the result.
    public func ruleCounters(listener: String, rule: String) -> RuleCounters {
        let counters = RuleCounters(listener: listener, rule: rule)
        blocks.withLock { $0.rules.append(counters) }
        return counters
    }

    /// A new counter block for the calling worker's copies of the requests `rule` of `listener` forwards
    /// (`RuleCounters.defaultRule` for the listener's forward) to its mirror group. Each call creates a block: call
    /// it once per worker and mirrored route, and keep the result.
    public func mirrorCounters(listener: String, rule: String) -> MirrorCounters {
        let counters = MirrorCounters(listener: listener, rule: rule)
        blocks.withLock { $0.mirrors.append(counters) }
        return counters
    }

    /// Every registered counter now, summed over workers. Safe from any thread, concurrently with
    /// recording and registration.
    public func snapshot() -> MetricsSnapshot {
        let current = blocks.withLock { $0 }
        var snapshot = MetricsSnapshot(durationBuckets: bounds.seconds)
        for counters in current.routes {
            let key = MetricsSnapshot.RouteKey(listener: counters.listener, group: counters.group,
                                               target: counters.target)
            snapshot.add(key, counters.load())
        }
        for counters in current.listeners {
            snapshot.add(listener: counters.listener, counters.load())
        }
        for counters in current.rules {
            snapshot.ruleRequests[MetricsSnapshot.RuleKey(listener: counters.listener, rule: counters.rule), default: 0] += counters.load()
        }
        for counters in current.mirrors {
            let key = MetricsSnapshot.RuleKey(listener: counters.listener, rule: counters.rule)
            let (requests, dropped) = counters.load()
            var totals = snapshot.mirrors[key] ?? MetricsSnapshot.MirrorTotals()
            totals.requests += requests
            for (index, count) in dropped.enumerated() { totals.dropped[index] += count }
            snapshot.mirrors[key] = totals
        }
        return snapshot
    }

    /// Every block registered so far. Blocks are only ever appended, so an index names the same block for
    /// the registry's life. Takes the lock; copies no block and allocates nothing.
    func registeredBlocks() -> (routes: [RouteCounters], listeners: [ListenerCounters]) {
        blocks.withLock { ($0.routes, $0.listeners) }
    }

    /// Requests in flight now from `listener` to `group`: started minus finished, summed over workers
    /// and targets. Lighter than a snapshot (two loads per block of the pair), for watching a drain.
    public func requestsInFlight(listener: String, group: String) -> UInt64 {
        let routes = blocks.withLock { $0.routes }
        var total: UInt64 = 0
        for counters in routes where counters.group == group && counters.listener == listener {
            total += counters.inFlight()
        }
        return total
    }

    /// Appends the Prometheus text exposition (version 0.0.4) of every data-plane family, summed over
    /// workers, followed by `extra` (the families the control plane computes at scrape time).
    public func render(into out: inout String, extra: [MetricFamily] = []) {
        for family in snapshot().families() + extra {
            family.render(into: &out)
        }
    }

    /// The Prometheus text exposition; see `render(into:extra:)`.
    public func render(extra: [MetricFamily] = []) -> String {
        var out = ""
        render(into: &out, extra: extra)
        return out
    }
}
