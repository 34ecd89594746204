import TurnoutCore
import TurnoutMetrics

/// The alarms' judgement of the replacement, once per sample of the recent figures, and what a passive ejection of
/// one of its targets does to it.
///
/// An ejection is the data plane's own verdict that a target fails (consecutive connect errors, resets, timeouts or
/// 5xx). Once ejected, a target gets only what `fail_open` sends it, a few requests a second when it is the
/// group's only one, which stays under `min_requests`: the rate and percentile alarms would never judge it and the
/// release would go on to 100 %. So, for the alarm window after an ejection of a replacement target, the figures
/// are judged from the first request (`min_requests` waived), and when no figure goes over its limit the ejection
/// itself rolls the deployment back (`passive_ejection`). Either way the reason names the ejected targets.
extension DeploymentState {
    /// The data plane ejected `target` of the replacement group. Kept for the alarm window while the alarms watch;
    /// judged at the next `alarmsJudged`.
    public mutating func replacementEjected(_ target: HostPort, now: UInt64) {
        guard isWatched, spec.alarms != nil else { return }
        ejections.append((target, now))
    }

    /// The ejections within the alarm window that ends at `now`.
    func recentEjections(now: UInt64) -> [(target: HostPort, time: UInt64)] {
        guard let alarms = spec.alarms else { return [] }
        let since = now - min(now, UInt64(alarms.windowSeconds) * 1000)
        return ejections.filter { $0.time >= since }
    }

    /// Judges the replacement: `candidate` is its window of figures (nil: none yet), `baseline` the live group's of
    /// the same length, `unhealthy` how many of its targets are unhealthy now. Rolls back on any breach.
    public mutating func alarmsJudged(candidate: WindowFigures?, baseline: WindowFigures?, unhealthy: Int,
                                      now: UInt64) -> [DeploymentAction] {
        guard isWatched, let alarms = spec.alarms else { return [] }
        ejections = recentEjections(now: now)
        var figures = alarms.figures
        if !ejections.isEmpty { figures.minRequests = 0 }
        var found = candidate.map { figures.breaches(candidate: $0, baseline: baseline) } ?? []
        if let limit = alarms.maxUnhealthyTargets, unhealthy > limit {
            found.append(FigureAlarmBreach(alarm: .unhealthyTargets, value: Double(unhealthy), threshold: Double(limit)))
        }
        var ejected: [HostPort] = []
        for ejection in ejections where !ejected.contains(ejection.target) { ejected.append(ejection.target) }
        if found.isEmpty, !ejected.isEmpty {
            found.append(FigureAlarmBreach(alarm: .passiveEjection, value: Double(ejected.count), threshold: 0))
        }
        let context = ejected.isEmpty ? nil
            : ejected.map(\.description).joined(separator: ", ") + (ejected.count == 1 ? " was" : " were") + " passively ejected"
        return alarmBreached(found, context: context, now: now)
    }
}
