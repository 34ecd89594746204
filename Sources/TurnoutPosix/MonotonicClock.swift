import CTurnoutLinux

/// Nanoseconds from `CLOCK_MONOTONIC`: deadlines and durations, never wall time.
public enum MonotonicClock {
    @inline(__always)
    public static func now() -> UInt64 { turnout_monotonic_ns() }
}

/// Nanoseconds since the Unix epoch from `CLOCK_REALTIME`, for logs and records.
public enum WallClock {
    public static func now() -> UInt64 { turnout_realtime_ns() }
}

/// The kernel's random source (`getrandom`), for seeds and identifiers.
public enum SystemRandom {
    /// Fills `buffer` with random bytes.
    public static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        _ = turnout_random_bytes(buffer.baseAddress, buffer.count)
    }
}
