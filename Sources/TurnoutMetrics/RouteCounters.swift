/// One worker's counters for requests forwarded from one listener to one target of one group.
///
/// Written by the worker that created it only (no lock, no allocation, no locked instruction per
/// call); read by the scrape through the registry that owns it.
public final class RouteCounters: @unchecked Sendable {
    /// Slot layout: five status classes (1xx…5xx), connect errors, then the duration histogram.
    private enum Slot {
        static let firstStatusClass = 0
        static let connectErrors = 5
        static let durationHistogram = 6
    }

    public let listener: String
    public let group: String
    public let target: String

    private let slots: OwnedSlots
    private let duration: HistogramSlots
    private let bounds: BucketBounds  // keeps `duration`'s bound pointer alive

    init(listener: String, group: String, target: String, bounds: BucketBounds) {
        self.listener = listener
        self.group = group
        self.target = target
        self.bounds = bounds
        slots = .allocate(count: Slot.durationHistogram + HistogramSlots.slotCount(boundCount: bounds.count))
        duration = HistogramSlots(slots: slots, first: Slot.durationHistogram, bounds: bounds)
    }

    deinit {
        slots.deallocate()
    }

    /// Counts a response passed to the client with its status class, and its duration in the group's
    /// duration histogram.
    @inline(__always)
    public func recordResponse(status: Int, durationNanoseconds: UInt64) {
        slots.add(1, at: Slot.firstStatusClass + statusClassIndex(status))
        duration.record(nanoseconds: durationNanoseconds)
    }

    /// Counts a failed attempt to connect to the target.
    @inline(__always)
    public func recordConnectError() {
        slots.add(1, at: Slot.connectErrors)
    }

    /// Current values, read from any thread.
    func load() -> MetricsSnapshot.RouteTotals {
        let (sumNanoseconds, bucketCounts) = duration.load()
        return MetricsSnapshot.RouteTotals(
            responsesByClass: (0..<5).map { slots.load(Slot.firstStatusClass + $0) },
            connectErrors: slots.load(Slot.connectErrors),
            durationSumNanoseconds: sumNanoseconds,
            durationBucketCounts: bucketCounts
        )
    }
}

/// 0 for 1xx … 4 for 5xx; what lies below 200 counts as 1xx and what lies above 599 as 5xx.
@inline(__always)
func statusClassIndex(_ status: Int) -> Int {
    min(max(status / 100, 1), 5) - 1
}
