import TurnoutCore
import TurnoutMetrics

/// The reports of the last `capacity` acknowledged routing changes that moved traffic, on the control
/// thread.
///
/// `commit` calls `record` right after publishing: the report takes a snapshot of the registry (the
/// cut-over), the requests in flight then, and each group's recent figures from before. Groups that lost
/// all weight on a route are then polled for what they still have in flight, every `finePoll` for the
/// first second and every `coarsePoll` after, until none is left or `drainWatchLimit` passes. A move
/// settles once its groups drained and `minimumSettle` passed: its errors are those between the cut-over
/// and then. Its figures after the cut-over run until the route changes again (the next `record` that
/// moves it), which also ends a drain still watched (`superseded`).
public final class SwitchReports {
    /// Reports kept (the newest).
    public static let capacity = 100
    /// A move's errors cover at least this long after its cut-over.
    public static let minimumSettle: UInt64 = 1_000_000_000
    /// How long departing groups are watched for their last requests at most.
    public static let drainWatchLimit: UInt64 = 60_000_000_000
    static let finePoll: UInt64 = 10_000_000
    static let coarsePoll: UInt64 = 50_000_000
    /// The most seconds of recent figures a move shows from before its cut-over.
    public static let secondsBefore = 30

    /// Where a report's figures come from: the registry and the recent figures (the unit tests feed them).
    struct Sources {
        /// The registry's counters now.
        var snapshot: () -> MetricsSnapshot
        /// Requests in flight now on a route to a group.
        var inFlight: (RouteName, String) -> UInt64
        /// A key's recent figures over the last so many whole seconds.
        var window: (FigureKey, Int) -> WindowFigures
    }

    /// What a report still needs while some of its moves are open.
    private struct Open {
        /// The registry at the cut-over.
        let snapshot: MetricsSnapshot
        /// Monotonic nanoseconds of the cut-over.
        let monotonic: UInt64
    }

    private let clock: any ControlClock
    private let sources: Sources
    /// Oldest first.
    private var stored: [SwitchReport] = []
    private var open: [UInt64: Open] = [:]
    /// The generation whose move of each route is in force, and when that route last changed.
    private var current: [RouteName: (generation: UInt64, monotonic: UInt64)] = [:]
    private let started: UInt64
    /// Called once a report is settled.
    var onSettled: (SwitchReport) -> Void = { _ in }

    init(clock: any ControlClock, sources: Sources) {
        self.clock = clock
        self.sources = sources
        started = clock.monotonicNanoseconds
    }

    /// Generations with a report, newest first.
    public var generations: [UInt64] { stored.reversed().map(\.generation) }

    /// Whether `generation` has a report.
    public func contains(_ generation: UInt64) -> Bool { stored.contains { $0.generation == generation } }

    /// The report of `generation`, its open moves' figures after the cut-over counted up to now; nil when
    /// the change moved no traffic or its report is older than the last `capacity`.
    public func report(generation: UInt64) -> SwitchReport? {
        guard var report = stored.first(where: { $0.generation == generation }) else { return nil }
        if let open = open[generation], report.moves.contains(where: { $0.figuresAfter == nil }) {
            let now = sources.snapshot()
            let span = FigureSpan(from: open.snapshot, to: now)
            let elapsed = milliseconds(since: open.monotonic)
            for index in report.moves.indices where report.moves[index].figuresAfter == nil {
                let move = report.moves[index]
                report.moves[index].figuresAfter = SpanFigures(span, route: move.route, groups: move.groups, milliseconds: elapsed)
            }
        }
        return report
    }

    /// Makes the report of `entry`'s change from `previous` to `next` (just published), when it moved
    /// traffic; returns whether it did.
    @discardableResult
    func record(from previous: RoutingTable, to next: RoutingTable, entry: AuditEntry) -> Bool {
        var changed: [(route: RouteName, before: [WeightedGroup], after: [WeightedGroup])] = []
        for (index, listener) in next.listeners.enumerated() {
            guard let old = previous.listenerIndex(named: listener.name) else { continue }
            let before = previous.forward(ofListener: old), after = next.forward(ofListener: index)
            if TrafficMove.movesTraffic(from: before, to: after) {
                changed.append((RouteName(listener: listener.name), before, after))
            }
            // Each rule's forward is a route of its own (a rule that answers by itself forwards nothing).
            for (ruleIndex, rule) in listener.rules.enumerated() {
                guard let oldRule = previous.listeners[old].rules.firstIndex(where: { $0.name == rule.name }) else { continue }
                let before = previous.forward(ofRule: oldRule, listener: old), after = next.forward(ofRule: ruleIndex, listener: index)
                if TrafficMove.movesTraffic(from: before, to: after) {
                    changed.append((RouteName(listener: listener.name, rule: rule.name), before, after))
                }
            }
        }
        guard !changed.isEmpty else { return false }
        let now = clock.monotonicNanoseconds
        let snapshot = sources.snapshot()
        let atCutover = FigureSpan(from: nil, to: snapshot)
        var moves: [TrafficMove] = []
        for change in changed {
            endMove(of: change.route, by: entry.generationAfter, at: snapshot)
            let weighted = { (forward: [WeightedGroup]) in Set(forward.filter { $0.weight > 0 }.map(\.group)) }
            let before = weighted(change.before), after = weighted(change.after)
            let groups = next.groups.map(\.name).filter { before.contains($0) || after.contains($0) }
            let departing = groups.filter { before.contains($0) && !after.contains($0) }
            var inFlight: [String: UInt64] = [:]
            let counted = change.route.counted
            for group in groups { inFlight[group] = atCutover.inFlight(.route(counted, group: group)) }
            let left = departing.reduce(0) { $0 + (inFlight[$1] ?? 0) }
            let drain = departing.isEmpty ? DrainOutcome(state: .none, inFlightLeft: 0)
                : left == 0 ? DrainOutcome(state: .drained, milliseconds: 0, resolutionMilliseconds: 0, inFlightLeft: 0)
                : DrainOutcome(state: .watching, inFlightLeft: left)
            let since = current[change.route]?.monotonic ?? started
            let seconds = min(Self.secondsBefore, Int((now - min(since, now)) / 1_000_000_000))
            var recent: [String: WindowFigures] = [:]
            for group in groups { recent[group] = sources.window(.route(counted, group: group), seconds) }
            moves.append(TrafficMove(
                route: change.route, before: change.before, after: change.after, groups: groups, departing: departing,
                inFlightAtCutover: inFlight, drain: drain, errors: nil,
                figuresBefore: WindowFiguresByGroup(seconds: recent.values.first?.seconds ?? 0, groups: recent),
                figuresAfter: nil, endedBy: nil))
            current[change.route] = (entry.generationAfter, now)
        }
        stored.append(SwitchReport(
            generation: entry.generationAfter, previousGeneration: entry.generationBefore, action: entry.action,
            caller: entry.caller, auditID: entry.id, cutoverMilliseconds: clock.wallMilliseconds, moves: moves))
        open[entry.generationAfter] = Open(snapshot: snapshot, monotonic: now)
        if stored.count > Self.capacity {
            let evicted = stored.count - Self.capacity
            for report in stored.prefix(evicted) { open[report.generation] = nil }
            stored.removeFirst(evicted)
        }
        watch(entry.generationAfter)
        return true
    }

    /// Polls a report's draining groups, settles it when it can, and sets the timer for the next look.
    private func watch(_ generation: UInt64) {
        guard let open = open[generation], let index = stored.firstIndex(where: { $0.generation == generation }),
              !stored[index].isSettled else { return }
        let elapsed = clock.monotonicNanoseconds - open.monotonic
        let interval = elapsed < Self.minimumSettle ? Self.finePoll : Self.coarsePoll
        var watching = false
        for m in stored[index].moves.indices where stored[index].moves[m].drain.state == .watching {
            let move = stored[index].moves[m]
            let left = move.departing.reduce(0) { $0 + sources.inFlight(move.route.counted, $1) }
            if left == 0 {
                stored[index].moves[m].drain = DrainOutcome(
                    state: .drained, milliseconds: Double(elapsed) / 1e6, resolutionMilliseconds: Double(interval) / 1e6,
                    inFlightLeft: 0)
            } else if elapsed >= Self.drainWatchLimit {
                stored[index].moves[m].drain = DrainOutcome(state: .timedOut, inFlightLeft: left)
            } else {
                stored[index].moves[m].drain.inFlightLeft = left
                watching = true
            }
        }
        if watching {
            clock.schedule(after: interval) { [weak self] in self?.watch(generation) }
        } else if elapsed >= Self.minimumSettle {
            settle(generation, index: index, at: sources.snapshot())
        } else {
            clock.schedule(after: Self.minimumSettle - elapsed) { [weak self] in self?.watch(generation) }
        }
    }

    /// Gives every unsettled move of the report its errors up to `snapshot`, and reports it settled.
    private func settle(_ generation: UInt64, index: Int, at snapshot: MetricsSnapshot) {
        guard let open = open[generation] else { return }
        let span = FigureSpan(from: open.snapshot, to: snapshot)
        let elapsed = milliseconds(since: open.monotonic)
        for m in stored[index].moves.indices where stored[index].moves[m].errors == nil {
            let move = stored[index].moves[m]
            stored[index].moves[m].errors = SpanFigures(span, route: move.route, groups: move.groups, milliseconds: elapsed)
        }
        onSettled(stored[index])
        forgetIfDone(generation, index: index)
    }

    /// The route changes again (generation `by`): the move in force on it ends now, its drain too if watched.
    private func endMove(of route: RouteName, by generation: UInt64, at snapshot: MetricsSnapshot) {
        guard let previous = current[route]?.generation, let open = open[previous],
              let index = stored.firstIndex(where: { $0.generation == previous }),
              let m = stored[index].moves.firstIndex(where: { $0.route == route }) else { return }
        let move = stored[index].moves[m]
        let span = FigureSpan(from: open.snapshot, to: snapshot)
        let elapsed = milliseconds(since: open.monotonic)
        stored[index].moves[m].figuresAfter = SpanFigures(span, route: route, groups: move.groups, milliseconds: elapsed)
        stored[index].moves[m].endedBy = generation
        guard move.errors == nil else { return forgetIfDone(previous, index: index) }
        if move.drain.state == .watching { stored[index].moves[m].drain.state = .superseded }
        stored[index].moves[m].errors = SpanFigures(span, route: route, groups: move.groups, milliseconds: elapsed)
        if stored[index].isSettled { onSettled(stored[index]) }
        forgetIfDone(previous, index: index)
    }

    /// Drops what an open report kept once it is settled and every move has ended.
    private func forgetIfDone(_ generation: UInt64, index: Int) {
        let report = stored[index]
        if report.isSettled && report.moves.allSatisfy({ $0.figuresAfter != nil }) { open[generation] = nil }
    }

    private func milliseconds(since monotonic: UInt64) -> Double {
        Double(clock.monotonicNanoseconds - monotonic) / 1e6
    }
}

extension RouteName {
    /// The route whose figures stand for this one's: the data plane counts by listener and group, so a rule's
    /// move is counted by its groups on its listener (each service's own groups behind its own rule, as the
    /// rules are meant; a group shared with another route of the listener brings that route's requests too).
    var counted: RouteName { rule == nil ? self : RouteName(listener: listener) }
}
