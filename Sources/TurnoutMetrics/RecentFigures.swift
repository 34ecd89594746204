/// The last `capacity` seconds of figures of every route, target group and route–group pair: one
/// per-second ring per key, filled from the registry's counters once a second.
///
/// The control thread samples the registry (`MetricsRegistry.snapshot()`) and passes each snapshot to
/// `record(_:second:)`; the ring keeps what changed since the sample before. Nothing is added on the
/// request path: the workers only count into their own blocks, as for `/metrics`. The status, the
/// figures endpoint, a switch's report and a deployment's alarms all read these rings.
///
/// A sample that comes late (the control thread was busy) carries everything since the one before
/// into its own second; the seconds it skipped read as empty. Two samples in one second add up.
public struct RecentFigures: Sendable {
    /// Fifteen minutes.
    public static let defaultSeconds = 900

    /// Seconds kept per key.
    public let capacity: Int
    /// The bounds of the latency histograms.
    public let durationBuckets: [Double]
    /// The second of the latest sample; nil before the first.
    public private(set) var latestSecond: UInt64?
    /// The registry as it was at the latest sample.
    public private(set) var latestSnapshot: MetricsSnapshot?
    /// The second of the first sample that carried figures (the one after the baseline).
    private var firstSecond: UInt64?
    private var rings: [FigureKey: FigureRing] = [:]

    public init(seconds: Int = RecentFigures.defaultSeconds, durationBuckets: [Double]) {
        precondition(seconds > 0, "the figures keep at least one second")
        capacity = seconds
        self.durationBuckets = durationBuckets
    }

    /// Every key seen so far, in order.
    public var keys: [FigureKey] { rings.keys.sorted() }

    /// Takes the registry's counters as they were at monotonic second `second`. The first call only
    /// sets the baseline; a second earlier than the latest is ignored.
    public mutating func record(_ snapshot: MetricsSnapshot, second: UInt64) {
        guard let previous = latestSnapshot, let latest = latestSecond else {
            latestSnapshot = snapshot
            latestSecond = second
            return
        }
        guard second >= latest else { return }
        let span = FigureSpan(from: previous, to: snapshot)
        for key in span.counts.keys where rings[key] == nil {
            rings[key] = FigureRing(capacity: capacity, bucketCount: durationBuckets.count + 1)
        }
        for key in rings.keys {
            rings[key]!.record(span.counts[key], inFlight: span.inFlight(key), second: second)
        }
        if firstSecond == nil { firstSecond = second }
        latestSnapshot = snapshot
        latestSecond = second
    }

    /// Seconds with figures, up to `seconds` (and `capacity`), ending at the latest sample.
    public func coveredSeconds(_ seconds: Int) -> Int {
        guard let firstSecond, let latestSecond else { return 0 }
        return min(max(seconds, 0), capacity, Int(latestSecond - firstSecond + 1))
    }

    /// `key`'s figures over the last `seconds` seconds (fewer while the figures are younger).
    public func window(_ key: FigureKey, seconds: Int) -> WindowFigures {
        var counts = FigureCounts(durationBuckets: durationBuckets)
        let covered = coveredSeconds(seconds)
        guard covered > 0, let latestSecond, let ring = rings[key] else {
            return WindowFigures(seconds: covered, counts: counts, inFlight: 0)
        }
        for second in (latestSecond - UInt64(covered) + 1)...latestSecond {
            if let slot = ring.counts(at: second, bounds: durationBuckets) { counts.add(slot) }
        }
        return WindowFigures(seconds: covered, counts: counts, inFlight: ring.inFlight(at: latestSecond))
    }

    /// `key`'s figures second by second over the last `seconds` seconds, oldest first; a second without a
    /// sample has empty counts.
    public func series(_ key: FigureKey, seconds: Int) -> [SecondFigures] {
        let covered = coveredSeconds(seconds)
        guard covered > 0, let latestSecond else { return [] }
        let empty = FigureCounts(durationBuckets: durationBuckets)
        return ((latestSecond - UInt64(covered) + 1)...latestSecond).map { second in
            SecondFigures(second: second, counts: rings[key]?.counts(at: second, bounds: durationBuckets) ?? empty,
                          inFlight: rings[key]?.inFlight(at: second) ?? 0)
        }
    }
}

/// One key's seconds, in one flat array of slots: the second it holds (plus one; 0 for none), responses,
/// 5xx responses, proxy errors, connect errors, in flight, the latency sum (a `Double`'s bits), then the
/// latency bucket counts.
private struct FigureRing: Sendable {
    private enum Field {
        static let stamp = 0
        static let responses = 1
        static let responses5xx = 2
        static let proxyErrors = 3
        static let connectErrors = 4
        static let inFlight = 5
        static let latencySum = 6
        static let firstBucket = 7
    }

    private let capacity: Int
    private let stride: Int
    private var slots: [UInt64]

    init(capacity: Int, bucketCount: Int) {
        self.capacity = capacity
        stride = Field.firstBucket + bucketCount
        slots = Array(repeating: 0, count: capacity * stride)
    }

    private func base(of second: UInt64) -> Int { Int(second % UInt64(capacity)) * stride }

    /// Adds `counts` (nil: nothing happened) to `second`'s slot, starting it over when it held an older
    /// second; the in-flight figure is the latest one.
    mutating func record(_ counts: FigureCounts?, inFlight: UInt64, second: UInt64) {
        let base = base(of: second)
        if slots[base + Field.stamp] != second + 1 {
            for index in base..<(base + stride) { slots[index] = 0 }
            slots[base + Field.stamp] = second + 1
            slots[base + Field.latencySum] = Double(0).bitPattern
        }
        slots[base + Field.inFlight] = inFlight
        guard let counts else { return }
        slots[base + Field.responses] += counts.responses
        slots[base + Field.responses5xx] += counts.responses5xx
        slots[base + Field.proxyErrors] += counts.proxyErrors
        slots[base + Field.connectErrors] += counts.connectErrors
        let sum = Double(bitPattern: slots[base + Field.latencySum]) + counts.latency.sum
        slots[base + Field.latencySum] = sum.bitPattern
        for (index, count) in counts.latency.bucketCounts.enumerated() {
            slots[base + Field.firstBucket + index] += count
        }
    }

    /// The counts of `second`; nil when the ring holds no sample of it.
    func counts(at second: UInt64, bounds: [Double]) -> FigureCounts? {
        let base = base(of: second)
        guard slots[base + Field.stamp] == second + 1 else { return nil }
        let buckets = Array(slots[(base + Field.firstBucket)..<(base + stride)])
        return FigureCounts(
            responses: slots[base + Field.responses], responses5xx: slots[base + Field.responses5xx],
            proxyErrors: slots[base + Field.proxyErrors], connectErrors: slots[base + Field.connectErrors],
            latency: HistogramCounts(upperBounds: bounds, bucketCounts: buckets,
                                     sum: Double(bitPattern: slots[base + Field.latencySum])))
    }

    /// Requests in flight at `second`; 0 when the ring holds no sample of it.
    func inFlight(at second: UInt64) -> UInt64 {
        let base = base(of: second)
        return slots[base + Field.stamp] == second + 1 ? slots[base + Field.inFlight] : 0
    }
}
