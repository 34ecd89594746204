/// The upper bounds of a duration histogram: in seconds for exposition, in nanoseconds for recording.
///
/// Immutable and shared by every block of one registry; recording reads the nanosecond bounds through a
/// raw pointer so the hot path touches no reference count.
final class BucketBounds: @unchecked Sendable {
    let seconds: [Double]
    let nanoseconds: UnsafeMutablePointer<UInt64>
    let count: Int

    init(seconds: [Double]) {
        for (index, bound) in seconds.enumerated() {
            precondition(bound.isFinite && bound > 0, "histogram bucket bounds must be positive and finite")
            precondition(index == 0 || seconds[index - 1] < bound, "histogram bucket bounds must increase")
        }
        self.seconds = seconds
        count = seconds.count
        nanoseconds = .allocate(capacity: max(count, 1))
        for (index, bound) in seconds.enumerated() {
            nanoseconds[index] = nanosecondsRounded(bound)
        }
    }

    deinit {
        nanoseconds.deallocate()
    }
}

/// Seconds to whole nanoseconds, clamping what is negative or not a number to 0 and what is huge to
/// about 31 years (so sums of many such values still fit in 64 bits for a while).
func nanosecondsRounded(_ seconds: Double) -> UInt64 {
    guard seconds > 0 else { return 0 }
    let nanoseconds = (seconds * 1e9).rounded()
    return nanoseconds >= 1e18 ? 1_000_000_000_000_000_000 : UInt64(nanoseconds)
}
