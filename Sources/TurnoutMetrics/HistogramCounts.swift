/// The state of a histogram at one moment: bucket counts, sum and count.
public struct HistogramCounts: Sendable, Equatable {
    /// Upper bounds of the finite buckets, increasing, in the histogram's unit (seconds here).
    public let upperBounds: [Double]
    /// Observations per bucket, not cumulative: `bucketCounts[i]` counts values in
    /// `(upperBounds[i-1], upperBounds[i]]`; the last element counts values above the highest bound.
    public private(set) var bucketCounts: [UInt64]
    /// Sum of all observed values.
    public private(set) var sum: Double

    /// Number of observations.
    public var count: UInt64 { bucketCounts.reduce(0, +) }

    /// A histogram with the given per-bucket (not cumulative) counts, one more than `upperBounds`.
    public init(upperBounds: [Double], bucketCounts: [UInt64], sum: Double) {
        precondition(bucketCounts.count == upperBounds.count + 1,
                     "a histogram needs one count per bound plus one for values above the highest")
        self.upperBounds = upperBounds
        self.bucketCounts = bucketCounts
        self.sum = sum
    }

    /// An empty histogram.
    public init(upperBounds: [Double]) {
        self.init(upperBounds: upperBounds, bucketCounts: Array(repeating: 0, count: upperBounds.count + 1), sum: 0)
    }

    /// Adds another histogram's observations; both must have the same bounds.
    public mutating func add(_ other: HistogramCounts) {
        precondition(other.upperBounds == upperBounds, "only histograms with the same bounds add up")
        for index in bucketCounts.indices {
            bucketCounts[index] += other.bucketCounts[index]
        }
        sum += other.sum
    }

    /// The `q`-quantile (0 < q ≤ 1) of the observations, interpolated linearly within the bucket that
    /// holds it, as Prometheus's `histogram_quantile` does: the first bucket starts at 0, and a quantile
    /// that falls above the highest bound is that bound. Nil without observations. So the answer is as
    /// fine as the bounds around it: with the default bounds a p99 between 100 ms and 250 ms is
    /// interpolated between them.
    public func quantile(_ q: Double) -> Double? {
        precondition(q > 0 && q <= 1, "a quantile lies in (0, 1]")
        let total = count
        guard total > 0 else { return nil }
        let rank = q * Double(total)
        var below: UInt64 = 0
        for (index, inBucket) in bucketCounts.enumerated() {
            let through = below + inBucket
            if Double(through) >= rank && inBucket > 0 {
                guard index < upperBounds.count else { return upperBounds.last ?? 0 }
                let lower = index == 0 ? 0 : upperBounds[index - 1]
                let upper = upperBounds[index]
                return lower + (upper - lower) * (rank - Double(below)) / Double(inBucket)
            }
            below = through
        }
        return upperBounds.last ?? 0
    }
}
