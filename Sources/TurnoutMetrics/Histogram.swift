/// A duration histogram with one writing thread (e.g. the control thread's health-check latencies),
/// readable from any thread.
public final class Histogram: @unchecked Sendable {
    private let bounds: BucketBounds
    private let slots: OwnedSlots
    private let storage: HistogramSlots

    /// An empty histogram with `upperBounds` (seconds, increasing).
    public init(upperBounds: [Double] = MetricsRegistry.defaultDurationBuckets) {
        bounds = BucketBounds(seconds: upperBounds)
        slots = .allocate(count: HistogramSlots.slotCount(boundCount: bounds.count))
        storage = HistogramSlots(slots: slots, first: 0, bounds: bounds)
    }

    deinit {
        slots.deallocate()
    }

    /// Records a duration; only the owning thread may call this.
    public func observe(nanoseconds: UInt64) {
        storage.record(nanoseconds: nanoseconds)
    }

    /// Records a duration in seconds (rounded to nanoseconds; negative counts as 0).
    public func observe(seconds: Double) {
        storage.record(nanoseconds: nanosecondsRounded(seconds))
    }

    /// The counts now.
    public var counts: HistogramCounts {
        let (sumNanoseconds, bucketCounts) = storage.load()
        return HistogramCounts(upperBounds: bounds.seconds, bucketCounts: bucketCounts,
                               sum: Double(sumNanoseconds) / 1e9)
    }

    /// The counts now as one series of a histogram family.
    public func series(labels: [(name: String, value: String)]) -> HistogramSeries {
        HistogramSeries(labels: labels, counts: counts)
    }
}
