/// Limits on a group's recent figures, as a deployment's `alarms` set them, judged over one window of
/// `RecentFigures`: the replacement's 5xx rate, its p99, its p99 against the live group's, and its
/// connect errors. A limit left nil is not checked.
///
/// Rates and percentiles of a window with fewer than `minRequests` requests say little (one 500 in
/// three requests is not a 33 % error rate worth a rollback), so they are judged only from that many on;
/// the ratio also needs that many in the live group's window. Connect errors are judged whatever the
/// count: a replacement that refuses connections answers nothing (its requests are retried on the live
/// group), so its request count stays low exactly when it is broken.
public struct FigureAlarms: Sendable, Hashable {
    /// The highest share of requests answered 500 or above.
    public var max5xxRate: Double?
    /// The highest p99 response duration, in seconds.
    public var maxP99: Double?
    /// The highest p99 as a multiple of the live group's p99 over the same window.
    public var maxP99Ratio: Double?
    /// The most failed connection attempts in the window.
    public var maxConnectErrors: UInt64?
    /// Requests a window must hold before its rates and percentiles are judged.
    public var minRequests: UInt64

    public init(max5xxRate: Double? = nil, maxP99: Double? = nil, maxP99Ratio: Double? = nil,
                maxConnectErrors: UInt64? = nil, minRequests: UInt64 = 0) {
        self.max5xxRate = max5xxRate
        self.maxP99 = maxP99
        self.maxP99Ratio = maxP99Ratio
        self.maxConnectErrors = maxConnectErrors
        self.minRequests = minRequests
    }

    /// Every limit `candidate` (the replacement's window) goes over; `baseline` is the live group's window
    /// of the same length, for the ratio (nil: the ratio is not judged). Empty when all is well.
    public func breaches(candidate: WindowFigures, baseline: WindowFigures?) -> [FigureAlarmBreach] {
        var found: [FigureAlarmBreach] = []
        if let limit = maxConnectErrors, candidate.connectErrors > limit {
            found.append(FigureAlarmBreach(alarm: .connectErrors, value: Double(candidate.connectErrors),
                                           threshold: Double(limit)))
        }
        guard candidate.requests >= max(minRequests, 1) else { return found }
        if let limit = max5xxRate, let rate = candidate.errorRate5xx, rate > limit {
            found.append(FigureAlarmBreach(alarm: .errorRate5xx, value: rate, threshold: limit))
        }
        if let limit = maxP99, let p99 = candidate.p99, p99 > limit {
            found.append(FigureAlarmBreach(alarm: .p99, value: p99, threshold: limit))
        }
        if let limit = maxP99Ratio, let baseline, baseline.requests >= max(minRequests, 1),
           let p99 = candidate.p99, let liveP99 = baseline.p99, liveP99 > 0, p99 / liveP99 > limit {
            found.append(FigureAlarmBreach(alarm: .p99Ratio, value: p99 / liveP99, threshold: limit))
        }
        return found
    }
}

/// A limit a window went over, with the figure and the limit, for the deployment's record.
public struct FigureAlarmBreach: Sendable, Equatable {
    /// Which limit, named as a deployment spec's `alarms` key (but `passive_ejection`).
    public enum Alarm: String, Sendable {
        case errorRate5xx = "max_5xx_rate"
        case p99 = "max_p99"
        case p99Ratio = "max_p99_ratio"
        case connectErrors = "max_connect_errors"
        /// Judged by the deployment from the targets' health, not from the figures.
        case unhealthyTargets = "max_unhealthy_targets"
        /// A replacement target passively ejected within the window, no figure over its limit: the ejection
        /// itself (the value is how many targets were ejected).
        case passiveEjection = "passive_ejection"
    }

    public let alarm: Alarm
    /// The window's figure (a share, seconds, a ratio or a count).
    public let value: Double
    public let threshold: Double

    public init(alarm: Alarm, value: Double, threshold: Double) {
        self.alarm = alarm
        self.value = value
        self.threshold = threshold
    }
}
