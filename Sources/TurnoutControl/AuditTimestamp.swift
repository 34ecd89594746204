import Glibc

/// Wall-clock time for audit entries and idempotency records: milliseconds since the Unix
/// epoch, shown as ISO 8601 in UTC with milliseconds ("2026-11-26T14:03:12.123Z").
public enum AuditTimestamp {
    /// The current wall-clock time in milliseconds since the Unix epoch.
    public static func nowMilliseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return UInt64(spec.tv_sec) * 1000 + UInt64(spec.tv_nsec / 1_000_000)
    }

    /// `milliseconds` since the epoch as ISO 8601, UTC, with milliseconds.
    public static func iso8601(milliseconds: UInt64) -> String {
        var seconds = time_t(milliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return padded(Int(parts.tm_year) + 1900, 4) + "-" + padded(Int(parts.tm_mon) + 1, 2) + "-"
            + padded(Int(parts.tm_mday), 2) + "T" + padded(Int(parts.tm_hour), 2) + ":"
            + padded(Int(parts.tm_min), 2) + ":" + padded(Int(parts.tm_sec), 2) + "."
            + padded(Int(milliseconds % 1000), 3) + "Z"
    }

    private static func padded(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
