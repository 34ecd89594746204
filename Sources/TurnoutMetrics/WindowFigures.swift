/// One key's figures over a window of recent seconds: what the status shows for the last 10 s and
/// 60 s, and what a deployment's alarms judge.
public struct WindowFigures: Sendable, Equatable {
    /// Seconds the window covers: fewer than asked while the figures are younger than the window.
    public let seconds: Int
    /// What happened in the window.
    public let counts: FigureCounts
    /// Requests in flight at the latest second.
    public let inFlight: UInt64

    public init(seconds: Int, counts: FigureCounts, inFlight: UInt64) {
        self.seconds = seconds
        self.counts = counts
        self.inFlight = inFlight
    }

    /// Requests answered in the window (forwarded responses and the proxy's own server errors).
    public var requests: UInt64 { counts.requests }

    /// Requests answered per second over the window; 0 for an empty window.
    public var requestRate: Double { seconds > 0 ? Double(requests) / Double(seconds) : 0 }

    /// The share of requests answered 500 or above, the targets' and the proxy's; nil without requests.
    public var errorRate5xx: Double? { requests > 0 ? Double(counts.errors5xx) / Double(requests) : nil }

    /// The median response duration in seconds (see `HistogramCounts.quantile`); nil without responses.
    public var p50: Double? { counts.latency.quantile(0.5) }

    /// The 99th percentile response duration in seconds; nil without responses.
    public var p99: Double? { counts.latency.quantile(0.99) }

    /// Failed connection attempts in the window.
    public var connectErrors: UInt64 { counts.connectErrors }
}

/// One second of one key's figures, as the dashboard's charts draw them.
public struct SecondFigures: Sendable, Equatable {
    /// The monotonic second (`CLOCK_MONOTONIC` seconds) the counts were sampled at.
    public let second: UInt64
    /// What happened since the sample before.
    public let counts: FigureCounts
    /// Requests in flight when sampled.
    public let inFlight: UInt64
}
