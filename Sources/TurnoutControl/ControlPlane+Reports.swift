import TurnoutCore
import TurnoutMetrics

/// `GET /v1/reports` and `GET /v1/reports/{generation}`: what each acknowledged change that moved traffic
/// did to it (see `SwitchReports`).
extension ControlPlane {
    /// How many reports `GET /v1/reports` gives without `limit`.
    static let defaultReportLimit = 20

    /// The sources of the reports: the registry, and the recent figures this plane samples.
    func reportSources() -> SwitchReports.Sources {
        let metrics = self.metrics, figures = self.figures
        return SwitchReports.Sources(
            snapshot: { metrics.snapshot() },
            inFlight: { route, group in metrics.requestsInFlight(listener: route.listener, group: group) },
            window: { key, seconds in figures.window(key, seconds: seconds) })
    }

    /// A settled report is an event.
    func publishReportSettled(_ report: SwitchReport) {
        publishEvent(.reportSettled, [
            "report_generation": .int(Int64(report.generation)), "report": Self.reportPath(report.generation),
            "totals": report.totals.json,
        ])
    }

    /// The report of `entry`'s change: `/v1/reports/{generation}` when the change moved traffic, null
    /// otherwise. Read from the entry itself, so the link is the same after a restart or once the report
    /// is no longer kept (reports live in memory; the link then answers 404).
    static func reportLink(of entry: AuditEntry) -> JSONValue {
        entry.movedTraffic ? reportPath(entry.generationAfter) : .null
    }

    static func reportPath(_ generation: UInt64) -> JSONValue { .string("/v1/reports/\(generation)") }

    /// `GET /v1/reports[?limit=N]`: the newest reports first.
    func getReports(_ request: AdminRequest) throws(AdminFailure) -> AdminResponse {
        try request.allowOnlyQuery(["limit"])
        var limit = Self.defaultReportLimit
        if let text = request.query["limit"] {
            guard let value = Int(text), (1...SwitchReports.capacity).contains(value) else {
                throw .badRequest("limit must be an integer in 1...\(SwitchReports.capacity)")
            }
            limit = value
        }
        let reports = self.reports.generations.prefix(limit).compactMap { self.reports.report(generation: $0)?.json }
        return .json(200, ["reports": .array(reports)])
    }

    /// `GET /v1/reports/{generation}`.
    func getReport(_ text: String) throws(AdminFailure) -> AdminResponse {
        guard let generation = UInt64(text) else { throw .badRequest("a report is named by its generation, not '\(text)'") }
        guard let report = reports.report(generation: generation) else {
            throw .notFound("no report for generation \(generation): it moved no traffic, or is older than the last "
                + "\(SwitchReports.capacity) reports")
        }
        return .json(200, report.json)
    }
}

extension AuditEntry {
    /// Whether the change moved traffic: its diff names a listener or a rule whose groups' shares differ before
    /// and after (`{"listeners": {"production": {"before": {"blue": 100}, "after": {"green": 100}}}}`,
    /// `{"rules": {"production": {"api": {"before": …, "after": …}}}}`), the test `SwitchReports` makes reports by.
    var movedTraffic: Bool {
        func moves(_ change: [String: JSONValue]) -> Bool {
            func forward(_ side: String) -> [WeightedGroup] {
                (change[side]?.objectValue ?? [:]).map { WeightedGroup(group: $0.key, weight: Int($0.value.intValue ?? 0)) }
            }
            return TrafficMove.movesTraffic(from: forward("before"), to: forward("after"))
        }
        let listeners = diff["listeners"]?.objectValue ?? [:]
        let rules = (diff["rules"]?.objectValue ?? [:]).values.flatMap { ($0.objectValue ?? [:]).values }
        return listeners.values.contains { moves($0.objectValue ?? [:]) } || rules.contains { moves($0.objectValue ?? [:]) }
    }
}
