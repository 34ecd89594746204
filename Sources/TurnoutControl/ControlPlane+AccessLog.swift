import TurnoutCore
import TurnoutMetrics

/// The access log's admin side: `POST /v1/logs/reopen` (what SIGUSR1 does, for logrotate's `postrotate`) and the
/// files' line counts in `/metrics`. The lines themselves are the data plane's (`AccessLogWriter`).
extension ControlPlane {
    /// `POST /v1/logs/reopen`: 200 with the paths opened again; 503 `log_not_reopened` naming a file that could not
    /// be (it keeps writing to its old descriptor).
    func postLogsReopen(_ request: AdminRequest) throws(AdminFailure) -> AdminResponse {
        try request.allowOnlyQuery([])
        _ = try JSONValue.parseBody(request.body).members("the body", allowed: [])
        switch reopenAccessLogs(caller: request.peer) {
        case .success(let paths): return .json(200, ["reopened": .array(paths.map(JSONValue.string))])
        case .failure(let error):
            throw AdminFailure(status: 503, code: .logNotReopened, message: "access log not reopened: \(error)")
        }
    }

    /// Opens the access logs again (SIGUSR1, or the API), logging the outcome; `caller` says which.
    @discardableResult
    public func reopenAccessLogs(caller: String) -> Result<[String], any Error> {
        do {
            let paths = try dataPlane.reopenAccessLogs()
            if !paths.isEmpty { logger.notice("access logs reopened by \(caller): \(paths.joined(separator: ", "))") }
            return .success(paths)
        } catch {
            logger.error("access logs not reopened (\(caller)): \(error)")
            return .failure(error)
        }
    }

    func accessLogFamilies() -> [MetricFamily] {
        let figures = dataPlane.accessLogFigures
        guard !figures.isEmpty else { return [] }
        func samples(_ value: (AccessLogFigures) -> UInt64) -> [MetricSample] {
            figures.map { MetricSample(labels: [("path", $0.path)], value: Double(value($0))) }
        }
        return [
            .counter("turnout_access_log_lines_total", help: "Access log lines written.", samples: samples(\.written)),
            .counter("turnout_access_log_dropped_lines_total",
                     help: "Access log lines dropped because the writer was behind (a slow or blocked file); no worker waits.",
                     samples: samples(\.dropped)),
            .counter("turnout_access_log_failed_lines_total",
                     help: "Access log lines lost to write errors (a full disk).", samples: samples(\.failed)),
        ]
    }
}
