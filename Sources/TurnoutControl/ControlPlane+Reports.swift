import TurnoutCore
import TurnoutMetrics

/// `GET /v1/reports` and `GET /v1/reports/{generation}`: what each acknowledged change that moved traffic
/// did to it (see `SwitchReports`).
extension ControlPlane {
    /// How many reports `GET /v1/reports` gives without `limit`.
    static let defaultReportLimit = 20

    /// The sources of the reports: the registry, and the recent figures this plane samples.
    func reportSources() -> SwitchReports.Sources {
        let metrics = self.metrics
        let buckets = metrics.durationBuckets
        return SwitchReports.Sources(
            snapshot: { metrics.snapshot() },
            inFlight: { route, group in metrics.requestsInFlight(listener: route.listener, group: group) },
            window: { [weak self] key, seconds in
                self?.figures.window(key, seconds: seconds)
                    ?? WindowFigures(seconds: 0, counts: FigureCounts(durationBuckets: buckets), inFlight: 0)
            })
    }

    /// A settled report is an event.
    func publishReportSettled(_ report: SwitchReport) {
        publishEvent(.reportSettled, [
            "report_generation": .int(Int64(report.generation)), "report": reportLink(generation: report.generation),
            "totals": report.totals.json,
        ])
    }

    /// `/v1/reports/{generation}` when that generation has a report, null otherwise.
    func reportLink(generation: UInt64) -> JSONValue {
        reports.contains(generation) ? .string("/v1/reports/\(generation)") : .null
    }

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
