/// Counts a recurring failure and decides when it is logged: the first occurrence at once, then at most one line
/// per interval carrying the count since the previous line, and one line when a whole interval passed without
/// it. A failure the process can only wait out (descriptors exhausted) would otherwise be logged once per
/// attempt: millions of lines. A success in between (one descriptor freed, one connection accepted) does not
/// end it: the condition flickers while it lasts.
///
/// Pure: the caller passes the time and writes the lines.
public struct IntervalReport: Sendable {
    /// Nanoseconds between two lines while the failure lasts, and without it before it counts as over.
    public let interval: UInt64
    /// Whether an occurrence was reported and the failure has not been declared over since.
    public private(set) var isOngoing = false
    private var unreported = 0
    private var nextLine: UInt64 = 0
    private var lastOccurrence: UInt64 = 0

    public init(intervalNanoseconds: UInt64) {
        interval = intervalNanoseconds
    }

    /// One more occurrence at `now` (monotonic nanoseconds). Returns the occurrences a line should report now,
    /// this one included, or nil while the interval since the previous line runs.
    public mutating func record(now: UInt64) -> Int? {
        unreported += 1
        lastOccurrence = now
        if isOngoing && now < nextLine { return nil }
        isOngoing = true
        nextLine = now &+ interval
        defer { unreported = 0 }
        return unreported
    }

    /// Declares the failure over when none occurred for a whole interval before `now`: returns the occurrences
    /// not reported yet (for the closing line), or nil when nothing ends now. The next occurrence is then
    /// reported at once.
    public mutating func endIfQuiet(now: UInt64) -> Int? {
        guard isOngoing, now &- lastOccurrence >= interval else { return nil }
        defer {
            isOngoing = false
            unreported = 0
        }
        return unreported
    }
}
