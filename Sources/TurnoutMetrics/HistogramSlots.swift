/// A duration histogram laid out in a run of owned slots: the sum in nanoseconds, then one count per
/// bucket (not cumulative), the last counting what lies above the highest bound.
struct HistogramSlots {
    /// Slots a histogram over `boundCount` bounds takes.
    static func slotCount(boundCount: Int) -> Int { 2 + boundCount }

    private let slots: OwnedSlots
    private let first: Int
    private let boundsNanoseconds: UnsafeMutablePointer<UInt64>
    private let boundCount: Int

    /// A histogram in `slots` starting at index `first`, with `bounds`, which the caller keeps alive.
    init(slots: OwnedSlots, first: Int, bounds: BucketBounds) {
        self.slots = slots
        self.first = first
        boundsNanoseconds = bounds.nanoseconds
        boundCount = bounds.count
    }

    /// Counts one observation; only the owning thread may call this.
    @inline(__always)
    func record(nanoseconds: UInt64) {
        var bucket = 0
        while bucket < boundCount && nanoseconds > boundsNanoseconds[bucket] {
            bucket += 1
        }
        slots.add(nanoseconds, at: first)
        slots.add(1, at: first + 1 + bucket)
    }

    /// The sum in nanoseconds and the per-bucket counts, read from any thread.
    func load() -> (sumNanoseconds: UInt64, bucketCounts: [UInt64]) {
        let bucketCounts = (0...boundCount).map { slots.load(first + 1 + $0) }
        return (slots.load(first), bucketCounts)
    }
}
