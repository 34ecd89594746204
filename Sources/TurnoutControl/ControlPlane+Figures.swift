import TurnoutCore
import TurnoutMetrics

/// The recent figures: sampled from the workers' counter blocks once a second on the control thread,
/// shown in the status (last 10 s and 60 s of each listener and group) and, second by second, by
/// `GET /v1/figures` for the dashboard's charts.
extension ControlPlane {
    /// How far past each whole second the figures are sampled: late enough that the timer never fires a
    /// hair before the second it means.
    static let figureSampleOffset: UInt64 = 5_000_000
    /// The windows the status shows, in seconds.
    static let statusWindows = [10, 60]

    /// Takes a sample of the registry into the figures, then sets the timer for the next whole second. In
    /// steady state this allocates nothing (the timer's action is made once), as the workers do not.
    func sampleFigures() {
        let now = clock.monotonicNanoseconds
        let second = now / 1_000_000_000
        figures.record(metrics, second: second)
        figuresWallMilliseconds = clock.wallMilliseconds
        deployments.figuresSampled(second: second)
        let next = (second + 1) * 1_000_000_000 + Self.figureSampleOffset
        clock.schedule(after: next > now ? next - now : 0, nextFigureSample)
    }

    /// The status's `figures`: `{"listeners": {name: {"10s": {...}, "60s": {...}}}, "target_groups": {...}}`.
    func statusFiguresJSON() -> JSONValue {
        func windows(_ key: FigureKey) -> JSONValue {
            var windows: [String: JSONValue] = [:]
            for seconds in Self.statusWindows { windows["\(seconds)s"] = figures.window(key, seconds: seconds).json }
            return .object(windows)
        }
        var listeners: [String: JSONValue] = [:]
        for listener in table.listeners { listeners[listener.name] = windows(.listener(listener.name)) }
        var groups: [String: JSONValue] = [:]
        for group in table.groups { groups[group.name] = windows(.group(group.name)) }
        return ["listeners": .object(listeners), "target_groups": .object(groups)]
    }

    /// `GET /v1/figures?group=G|listener=L[&seconds=N]`: a key's figures second by second, oldest first, as
    /// columns (one array per figure), with the window they add up to.
    func getFigures(_ request: AdminRequest) throws(AdminFailure) -> AdminResponse {
        try request.allowOnlyQuery(["group", "listener", "seconds"])
        let group = request.query["group"]
        let listener = request.query["listener"]
        guard group != nil || listener != nil else { throw .badRequest("name a 'group', a 'listener' or both") }
        if let group { _ = try requireGroup(group) }
        if let listener { try requireListener(listener) }
        var seconds = figures.capacity
        if let text = request.query["seconds"] {
            guard let value = Int(text), (1...figures.capacity).contains(value) else {
                throw .badRequest("seconds must be an integer in 1...\(figures.capacity)")
            }
            seconds = value
        }
        let key = FigureKey(route: listener.map { RouteName(listener: $0) }, group: group)
        let series = figures.series(key, seconds: seconds)
        func column(_ value: (SecondFigures) -> JSONValue) -> JSONValue { .array(series.map(value)) }
        let latest = figures.latestSecond ?? 0
        return .json(200, [
            "group": group.map(JSONValue.string) ?? .null,
            "listener": listener.map(JSONValue.string) ?? .null,
            "seconds": .int(Int64(series.count)),
            "end_ms": series.last.map { .int(Int64(figuresWallMilliseconds - (latest - $0.second) * 1000)) } ?? .null,
            "requests": column { .int(Int64($0.counts.requests)) },
            "responses_5xx": column { .int(Int64($0.counts.responses5xx)) },
            "proxy_errors": column { .int(Int64($0.counts.proxyErrors)) },
            "connect_errors": column { .int(Int64($0.counts.connectErrors)) },
            "in_flight": column { .int(Int64($0.inFlight)) },
            "p50_ms": column { milliseconds($0.counts.latency.quantile(0.5)) },
            "p99_ms": column { milliseconds($0.counts.latency.quantile(0.99)) },
            "window": figures.window(key, seconds: seconds).json,
        ])
    }
}

extension AdminRequest {
    /// Refuses query parameters other than `names` (400), so a misspelt one is not silently ignored.
    func allowOnlyQuery(_ names: Set<String>) throws(AdminFailure) {
        if let unknown = query.keys.sorted().first(where: { !names.contains($0) }) {
            throw .badRequest("unknown query parameter '\(unknown)'; use \(names.sorted().joined(separator: ", "))")
        }
    }
}

extension FigureCounts {
    /// The counts over `seconds` of time, with the rates and percentiles they give: `requests`,
    /// `request_rate` (per second), `responses_5xx`, `proxy_errors`, `error_rate_5xx` (the targets' and the
    /// proxy's 5xx over requests; null without requests), `connect_errors`, `p50_ms` and `p99_ms` (null
    /// without responses).
    func json(seconds: Double) -> [String: JSONValue] {
        let requests = self.requests
        return [
            "requests": .int(Int64(requests)),
            "request_rate": .double(seconds > 0 ? rounded(Double(requests) / seconds, places: 3) : 0),
            "responses_5xx": .int(Int64(responses5xx)),
            "proxy_errors": .int(Int64(proxyErrors)),
            "error_rate_5xx": requests > 0 ? .double(rounded(Double(errors5xx) / Double(requests), places: 6)) : .null,
            "connect_errors": .int(Int64(connectErrors)),
            "p50_ms": milliseconds(latency.quantile(0.5)),
            "p99_ms": milliseconds(latency.quantile(0.99)),
        ]
    }
}

extension WindowFigures {
    /// The window's figures (see `FigureCounts.json(seconds:)`) with `seconds` covered and `in_flight`.
    var json: JSONValue {
        var members = counts.json(seconds: Double(seconds))
        members["seconds"] = .int(Int64(seconds))
        members["in_flight"] = .int(Int64(inFlight))
        return .object(members)
    }
}

/// Seconds as milliseconds to the microsecond; null for none.
func milliseconds(_ seconds: Double?) -> JSONValue {
    seconds.map { .double(rounded($0 * 1000, places: 3)) } ?? .null
}

func rounded(_ value: Double, places: Int) -> Double {
    var scale = 1.0
    for _ in 0..<places { scale *= 10 }
    return (value * scale).rounded() / scale
}
