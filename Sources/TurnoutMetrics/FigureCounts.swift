/// What one route, group or pair of them did over a span of time: one second of the recent figures, a
/// window of them, or the span between two snapshots of the registry (a switch's move).
public struct FigureCounts: Sendable, Equatable {
    /// Responses forwarded from targets, any status.
    public internal(set) var responses: UInt64
    /// Of those, status 500 and above.
    public internal(set) var responses5xx: UInt64
    /// Error responses of 500 and above the proxy answered itself: for a group, for requests routed to it
    /// (a reset before the response, a timeout); for a route, every one (a request with no target too).
    public internal(set) var proxyErrors: UInt64
    /// Failed connection attempts (each retried once elsewhere, so not each a failed request).
    public internal(set) var connectErrors: UInt64
    /// Durations of the forwarded responses.
    public internal(set) var latency: HistogramCounts

    /// Nothing, over `durationBuckets`.
    public init(durationBuckets: [Double]) {
        self.init(responses: 0, responses5xx: 0, proxyErrors: 0, connectErrors: 0,
                  latency: HistogramCounts(upperBounds: durationBuckets))
    }

    public init(responses: UInt64, responses5xx: UInt64, proxyErrors: UInt64, connectErrors: UInt64,
                latency: HistogramCounts) {
        self.responses = responses
        self.responses5xx = responses5xx
        self.proxyErrors = proxyErrors
        self.connectErrors = connectErrors
        self.latency = latency
    }

    /// Requests answered: forwarded responses and the proxy's own server errors.
    public var requests: UInt64 { responses + proxyErrors }

    /// Answers of 500 and above, the targets' and the proxy's.
    public var errors5xx: UInt64 { responses5xx + proxyErrors }

    /// Adds another span's counts (same duration buckets).
    public mutating func add(_ other: FigureCounts) {
        responses += other.responses
        responses5xx += other.responses5xx
        proxyErrors += other.proxyErrors
        connectErrors += other.connectErrors
        latency.add(other.latency)
    }
}

/// The figures of every route, group and pair between two snapshots of the registry, and what was in
/// flight at the later one. Counters never go backwards, so each figure is the later count minus the
/// earlier (a block registered in between counts from zero).
public struct FigureSpan: Sendable {
    /// The counts of every key with traffic at the later snapshot (absent keys: nothing happened).
    public private(set) var counts: [FigureKey: FigureCounts] = [:]
    /// Requests in flight at the later snapshot, by key.
    public private(set) var inFlight: [FigureKey: UInt64] = [:]
    /// The bounds of the latency histograms.
    public let durationBuckets: [Double]

    /// The span from `earlier` (nil: from the start) to `later`.
    public init(from earlier: MetricsSnapshot?, to later: MetricsSnapshot) {
        durationBuckets = later.durationBuckets
        for (key, totals) in later.routes {
            let before = earlier?.routes[key]
            let route = RouteName(listener: key.listener)
            let routed = Self.counts(totals, minus: before, buckets: durationBuckets)
            var routeShare = routed
            routeShare.proxyErrors = 0  // a route's proxy errors come from its listener's counters below
            for (figureKey, share) in [(FigureKey.group(key.group), routed), (.route(route, group: key.group), routed),
                                       (.route(route), routeShare)] {
                counts[figureKey, default: FigureCounts(durationBuckets: durationBuckets)].add(share)
                inFlight[figureKey, default: 0] += totals.inFlight
            }
        }
        for (listener, totals) in later.listeners {
            let now = Self.serverErrors(totals)
            let before = earlier?.listeners[listener].map(Self.serverErrors) ?? 0
            guard now > before else { continue }
            counts[.listener(listener), default: FigureCounts(durationBuckets: durationBuckets)].proxyErrors += now - before
        }
    }

    /// The counts of `key` (nothing when it had no traffic).
    public func counts(_ key: FigureKey) -> FigureCounts {
        counts[key] ?? FigureCounts(durationBuckets: durationBuckets)
    }

    /// Requests of `key` in flight at the later snapshot.
    public func inFlight(_ key: FigureKey) -> UInt64 { inFlight[key] ?? 0 }

    private static func counts(_ totals: MetricsSnapshot.RouteTotals, minus earlier: MetricsSnapshot.RouteTotals?,
                               buckets: [Double]) -> FigureCounts {
        func delta(_ later: UInt64, _ earlier: UInt64?) -> UInt64 {
            let before = earlier ?? 0
            return later >= before ? later - before : 0
        }
        let (laterBuckets, laterSum) = totals.durationCounts
        let earlierDurations = earlier?.durationCounts
        let bucketCounts = laterBuckets.indices.map { delta(laterBuckets[$0], earlierDurations?.bucketCounts[$0]) }
        let sum = delta(laterSum, earlierDurations?.sumNanoseconds)
        return FigureCounts(
            responses: delta(totals.responsesByClass.reduce(0, +), earlier?.responsesByClass.reduce(0, +)),
            responses5xx: delta(totals.responses(statusClass: 5), earlier?.responses(statusClass: 5)),
            proxyErrors: delta(totals.proxyErrors, earlier?.proxyErrors),
            connectErrors: delta(totals.connectErrors, earlier?.connectErrors),
            latency: HistogramCounts(upperBounds: buckets, bucketCounts: bucketCounts, sum: Double(sum) / 1e9))
    }

    /// A listener's proxy errors of 500 and above.
    private static func serverErrors(_ totals: MetricsSnapshot.ListenerTotals) -> UInt64 {
        totals.proxyErrors.reduce(0) { $0 + ($1.key >= 500 ? $1.value : 0) }
    }
}
