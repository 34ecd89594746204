import TurnoutCore
import TurnoutMetrics

/// What one acknowledged routing change did to the traffic: one `TrafficMove` per route whose split
/// changed, each with the requests in flight at the cut-over, how long the groups that lost all weight
/// took to have nothing in flight, the errors until then, and each group's figures before and after.
/// `SwitchReports` makes and keeps them; a deployment's report is its steps' reports and its own summary
/// (`DeploymentReport`).
public struct SwitchReport: Sendable {
    /// The generation the change made, which names the report.
    public let generation: UInt64
    public let previousGeneration: UInt64
    /// The audit entry's action, caller and id.
    public let action: String
    public let caller: String
    public let auditID: UInt64
    /// When the new table was published, in milliseconds since the epoch.
    public let cutoverMilliseconds: UInt64
    public internal(set) var moves: [TrafficMove]

    /// Whether every move has settled (its departing groups drained, or the watch ended): its errors are final.
    public var isSettled: Bool { moves.allSatisfy { $0.errors != nil } }

    /// The moves' figures added up.
    public var totals: ReportTotals {
        var totals = ReportTotals()
        for move in moves { totals.add(move) }
        return totals
    }
}

/// One route's change of split within a `SwitchReport`.
public struct TrafficMove: Sendable {
    public let route: RouteName
    /// The route's forward before and after, as the table lists it (weights of 0 included).
    public let before: [WeightedGroup]
    public let after: [WeightedGroup]
    /// Every group with weight before or after, in the table's order.
    public let groups: [String]
    /// The groups that had weight before and none after: what drains.
    public let departing: [String]
    /// Requests in flight on this route to each of `groups` right after the cut-over.
    public let inFlightAtCutover: [String: UInt64]
    public internal(set) var drain: DrainOutcome
    /// Errors from the cut-over until the move settled: its departing groups drained (or the watch ended),
    /// and at least `SwitchReports.minimumSettle` passed. Nil until then.
    public internal(set) var errors: SpanFigures?
    /// Each group's figures over the whole seconds just before the cut-over (at most
    /// `SwitchReports.secondsBefore`, and none from before the route's previous change).
    public let figuresBefore: WindowFiguresByGroup
    /// Each group's figures while this split served: from the cut-over until the route changed again.
    /// Nil while it is in force (`SwitchReports` computes them up to now when asked).
    public internal(set) var figuresAfter: SpanFigures?
    /// The generation that changed this route next; nil while this split is in force.
    public internal(set) var endedBy: UInt64?

    /// Whether a change from `before` to `after` moves traffic: the shares of the groups with weight differ
    /// (90/10 and 9/1 are the same split).
    static func movesTraffic(from before: [WeightedGroup], to after: [WeightedGroup]) -> Bool {
        let sumBefore = before.reduce(0) { $0 + $1.weight }, sumAfter = after.reduce(0) { $0 + $1.weight }
        let names = Set(before.map(\.group)).union(after.map(\.group))
        return names.contains { name in
            let weightBefore = before.first { $0.group == name }?.weight ?? 0
            let weightAfter = after.first { $0.group == name }?.weight ?? 0
            return weightBefore * sumAfter != weightAfter * sumBefore
        }
    }
}

/// How the departing groups of a move drained.
public struct DrainOutcome: Sendable, Equatable {
    public enum State: String, Sendable {
        /// No group lost all its weight: nothing drains.
        case none
        /// Requests routed before the cut-over are still in flight; polled.
        case watching
        /// Nothing in flight any more.
        case drained
        /// Still something in flight when `SwitchReports.drainWatchLimit` passed (a long download, a tunnel).
        case timedOut = "timed_out"
        /// The route changed again before the drain ended.
        case superseded
    }

    public internal(set) var state: State
    /// From the cut-over to the first poll that found nothing in flight; nil unless drained.
    public internal(set) var milliseconds: Double?
    /// How far apart the polls were then: the drain ended at most this long before `milliseconds`.
    public internal(set) var resolutionMilliseconds: Double?
    /// Requests still in flight when the watch ended (0 once drained).
    public internal(set) var inFlightLeft: UInt64
}

/// Figures of a move's groups over a span between two snapshots of the registry.
public struct SpanFigures: Sendable {
    /// The span's length.
    public let milliseconds: Double
    /// The route's own: its listener's proxy errors include requests that found no target.
    public let route: FigureCounts
    /// Each group's share of the route.
    public let groups: [String: FigureCounts]

    init(_ span: FigureSpan, route: RouteName, groups: [String], milliseconds: Double) {
        self.milliseconds = milliseconds
        let counted = route.counted
        var byGroup: [String: FigureCounts] = [:]
        for group in groups { byGroup[group] = span.counts(.route(counted, group: group)) }
        self.groups = byGroup
        // A rule's route is what its groups did; a listener's own counts its requests that found no target too.
        var total = span.counts(.route(counted))
        if route.rule != nil, let first = groups.first, var sum = byGroup[first] {
            for group in groups.dropFirst() { sum.add(byGroup[group]!) }
            total = sum
        }
        self.route = total
    }
}

/// Each group's window of recent figures.
public struct WindowFiguresByGroup: Sendable {
    public let seconds: Int
    public let groups: [String: WindowFigures]
}

/// A report's (or several reports') figures added up: what a deployment's summary shows of its steps.
public struct ReportTotals: Sendable, Equatable {
    /// Requests in flight at the cut-overs to the groups that lost all weight.
    public internal(set) var departingInFlightAtCutover: UInt64 = 0
    /// Errors during the moves (settled ones).
    public internal(set) var responses5xx: UInt64 = 0
    public internal(set) var proxyErrors: UInt64 = 0
    public internal(set) var connectErrors: UInt64 = 0
    /// The longest drain; nil when none drained.
    public internal(set) var longestDrainMilliseconds: Double?
    /// Moves whose departing groups did not drain (timed out or superseded).
    public internal(set) var undrainedMoves = 0
    /// Moves not settled yet.
    public internal(set) var unsettledMoves = 0

    public init() {}

    mutating func add(_ move: TrafficMove) {
        for group in move.departing { departingInFlightAtCutover += move.inFlightAtCutover[group] ?? 0 }
        if let errors = move.errors {
            responses5xx += errors.route.responses5xx
            proxyErrors += errors.route.proxyErrors
            connectErrors += errors.route.connectErrors
        } else {
            unsettledMoves += 1
        }
        if let drained = move.drain.milliseconds {
            longestDrainMilliseconds = max(longestDrainMilliseconds ?? 0, drained)
        }
        if move.drain.state == .timedOut || move.drain.state == .superseded { undrainedMoves += 1 }
    }

    /// Adds another's totals (a deployment's steps).
    public mutating func add(_ other: ReportTotals) {
        departingInFlightAtCutover += other.departingInFlightAtCutover
        responses5xx += other.responses5xx
        proxyErrors += other.proxyErrors
        connectErrors += other.connectErrors
        if let drained = other.longestDrainMilliseconds {
            longestDrainMilliseconds = max(longestDrainMilliseconds ?? 0, drained)
        }
        undrainedMoves += other.undrainedMoves
        unsettledMoves += other.unsettledMoves
    }
}

/// A deployment's report: its own summary (what the deployment engine records: id, strategy, outcome,
/// alarms) and the reports of its steps, each one acknowledged routing change, with their totals.
public struct DeploymentReport: Sendable {
    public var summary: [String: JSONValue]
    public var steps: [SwitchReport]

    public init(summary: [String: JSONValue], steps: [SwitchReport]) {
        self.summary = summary
        self.steps = steps
    }

    public var totals: ReportTotals {
        var totals = ReportTotals()
        for step in steps { totals.add(step.totals) }
        return totals
    }

    /// `{"summary": {...}, "totals": {...}, "steps": [report, ...]}`.
    public var json: JSONValue {
        ["summary": .object(summary), "totals": totals.json, "steps": .array(steps.map(\.json))]
    }
}

// MARK: - JSON

extension SwitchReport {
    /// The report as `GET /v1/reports/{generation}` shows it.
    public var json: JSONValue {
        [
            "generation": .int(Int64(generation)), "previous_generation": .int(Int64(previousGeneration)),
            "action": .string(action), "caller": .string(caller), "audit_id": .int(Int64(auditID)),
            "time": .string(AuditTimestamp.iso8601(milliseconds: cutoverMilliseconds)),
            "settled": .bool(isSettled), "totals": totals.json, "moves": .array(moves.map(\.json)),
        ]
    }
}

extension TrafficMove {
    var json: JSONValue {
        func forward(_ weights: [WeightedGroup]) -> JSONValue {
            .object(Dictionary(weights.map { ($0.group, JSONValue.int(Int64($0.weight))) }, uniquingKeysWith: { $1 }))
        }
        return [
            "listener": .string(route.listener), "rule": route.rule.map(JSONValue.string) ?? .null,
            "before": forward(before), "after": forward(after),
            "departing": .array(departing.map(JSONValue.string)),
            "in_flight_at_cutover": .object(inFlightAtCutover.mapValues { .int(Int64($0)) }),
            "drain": drain.json,
            "errors": errors?.errorsJSON ?? .null,
            "figures_before": [
                "seconds": .int(Int64(figuresBefore.seconds)),
                "groups": .object(figuresBefore.groups.mapValues(\.json)),
            ],
            "figures_after": figuresAfter?.figuresJSON(endedBy: endedBy) ?? .null,
        ]
    }
}

extension DrainOutcome {
    var json: JSONValue {
        [
            "state": .string(state.rawValue),
            "milliseconds": milliseconds.map { .double(rounded($0, places: 3)) } ?? .null,
            "resolution_ms": resolutionMilliseconds.map { .double(rounded($0, places: 3)) } ?? .null,
            "in_flight_left": .int(Int64(inFlightLeft)),
        ]
    }
}

extension SpanFigures {
    /// The errors of a move: the route's 5xx, proxy errors and connect errors, and each group's.
    var errorsJSON: JSONValue {
        func errors(_ counts: FigureCounts) -> JSONValue {
            ["requests": .int(Int64(counts.requests)), "responses_5xx": .int(Int64(counts.responses5xx)),
             "proxy_errors": .int(Int64(counts.proxyErrors)), "connect_errors": .int(Int64(counts.connectErrors))]
        }
        guard case .object(var members) = errors(route) else { return .null }
        members["milliseconds"] = .double(rounded(milliseconds, places: 3))
        members["groups"] = .object(groups.mapValues(errors))
        return .object(members)
    }

    /// Each group's figures over the span (see `FigureCounts.json(seconds:)`).
    func figuresJSON(endedBy: UInt64?) -> JSONValue {
        let seconds = milliseconds / 1000
        return [
            "seconds": .double(rounded(seconds, places: 3)),
            "ended_by": endedBy.map { .int(Int64($0)) } ?? .null,
            "groups": .object(groups.mapValues { counts in
                var members = counts.json(seconds: seconds)
                members["seconds"] = .double(rounded(seconds, places: 3))
                return .object(members)
            }),
        ]
    }
}

extension ReportTotals {
    var json: JSONValue {
        [
            "departing_in_flight_at_cutover": .int(Int64(departingInFlightAtCutover)),
            "responses_5xx": .int(Int64(responses5xx)), "proxy_errors": .int(Int64(proxyErrors)),
            "connect_errors": .int(Int64(connectErrors)),
            "longest_drain_ms": longestDrainMilliseconds.map { .double(rounded($0, places: 3)) } ?? .null,
            "undrained_moves": .int(Int64(undrainedMoves)), "unsettled_moves": .int(Int64(unsettledMoves)),
        ]
    }
}
