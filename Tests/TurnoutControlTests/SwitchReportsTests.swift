import TurnoutCore
import TurnoutMetrics
import XCTest
@testable import TurnoutControl

/// Switch reports computed from counters fed by hand into a real registry and recent figures, on a manual
/// clock: in flight at the cut-over, the drain polled to zero, errors until the move settles, figures
/// before (from the per-second figures) and after (until the route changes again). No socket.
final class SwitchReportsTests: XCTestCase {
    private var clock: ManualClock! = ManualClock()
    private let registry = MetricsRegistry(durationBuckets: [0.001, 0.01, 0.1, 1])
    private let figures = RecentFigures(durationBuckets: [0.001, 0.01, 0.1, 1])
    private var reports: SwitchReports!
    private var settled: [UInt64] = []
    private var table: RoutingTable!
    private var audit = AuditLog()
    private var blue: RouteCounters!
    private var green: RouteCounters!
    private let production = RouteName(listener: "production")

    override func tearDown() {
        // XCTest keeps every test case object until the process exits: let go of the reports and the clock's
        // timers (which refer to them weakly) now.
        reports = nil
        clock = nil
        super.tearDown()
    }

    override func setUpWithError() throws {
        let config = try ConfigLoader.parse(yaml: """
            listeners:
              production: { bind: 127.0.0.1:8080, forward: { blue: 100 } }
              test: { bind: 127.0.0.1:8081, forward: { green: 100 } }
            target_groups:
              blue: { targets: [127.0.0.1:3000] }
              green: { targets: [127.0.0.1:3001] }
            """)
        table = RoutingTable(config: config, generation: 1)
        blue = registry.routeCounters(listener: "production", group: "blue", target: "127.0.0.1:3000")
        green = registry.routeCounters(listener: "production", group: "green", target: "127.0.0.1:3001")
        let registry = self.registry
        reports = SwitchReports(clock: clock, sources: SwitchReports.Sources(
            snapshot: { registry.snapshot() },
            inFlight: { route, group in registry.requestsInFlight(listener: route.listener, group: group) },
            window: { [unowned self] key, seconds in figures.window(key, seconds: seconds) }))
        reports.onSettled = { [unowned self] report in settled.append(report.generation) }
        figures.record(registry, second: clock.monotonicNanoseconds / 1_000_000_000)
    }

    /// Replaces production's forward (and test's, when given) and records the change's report.
    @discardableResult
    private func change(_ production: [String: Int], test: [String: Int]? = nil) throws -> UInt64 {
        var changes = ["production": production.sorted { $0.key < $1.key }.map { WeightedGroup(group: $0.key, weight: $0.value) }]
        if let test { changes["test"] = test.map { WeightedGroup(group: $0.key, weight: $0.value) } }
        let next = try table.replacingForward(changes)
        let entry = audit.append(action: "weights", caller: "127.0.0.1", generationBefore: table.generation,
                                 generationAfter: next.generation, request: nil, diff: [:])
        let made = reports.record(from: table, to: next, entry: entry)
        table = next
        return made ? next.generation : 0
    }

    private func responses(_ counters: RouteCounters, _ count: Int, status: Int = 200, milliseconds: UInt64 = 5) {
        for _ in 0..<count {
            counters.recordStarted()
            counters.recordResponse(status: status, durationNanoseconds: milliseconds * 1_000_000)
            counters.recordFinished()
        }
    }

    /// One second passes, and the recent figures take their sample at its end.
    private func nextSecond() {
        clock.advance(milliseconds: 1_000)
        figures.record(registry, second: clock.monotonicNanoseconds / 1_000_000_000)
    }

    private func move(_ generation: UInt64) throws -> TrafficMove {
        try XCTUnwrap(reports.report(generation: generation)?.moves.first)
    }

    func testOnlyAChangeOfSharesMovesTraffic() {
        func split(_ pairs: (String, Int)...) -> [WeightedGroup] { pairs.map { WeightedGroup(group: $0.0, weight: $0.1) } }
        XCTAssertFalse(TrafficMove.movesTraffic(from: split(("blue", 90), ("green", 10)), to: split(("blue", 9), ("green", 1))))
        XCTAssertFalse(TrafficMove.movesTraffic(from: split(("blue", 100)), to: split(("blue", 5), ("green", 0))))
        XCTAssertTrue(TrafficMove.movesTraffic(from: split(("blue", 100)), to: split(("blue", 90), ("green", 10))))
        XCTAssertTrue(TrafficMove.movesTraffic(from: split(("blue", 100)), to: split(("green", 100))))
    }

    func testASwitchReportsWhatWasInFlightAndHowLongTheOldGroupTookToDrain() throws {
        for _ in 0..<3 { blue.recordStarted() }  // three slow requests on blue at the cut-over
        clock.advance(milliseconds: 300)
        let generation = try change(["green": 100])
        XCTAssertEqual(generation, 2)
        var move = try self.move(generation)
        XCTAssertEqual(move.groups, ["blue", "green"])
        XCTAssertEqual(move.departing, ["blue"])
        XCTAssertEqual(move.inFlightAtCutover, ["blue": 3, "green": 0])
        XCTAssertEqual(move.drain, DrainOutcome(state: .watching, milliseconds: nil, resolutionMilliseconds: nil, inFlightLeft: 3))

        clock.advance(milliseconds: 15)
        blue.recordFinished()
        blue.recordFinished()
        blue.recordProxyError(status: 504)  // one of them timed out
        responses(green, 10)
        clock.advance(milliseconds: 10)
        XCTAssertEqual(try self.move(generation).drain.inFlightLeft, 1)
        blue.recordResponse(status: 503, durationNanoseconds: 40_000_000)
        blue.recordFinished()
        clock.advance(milliseconds: 10)
        move = try self.move(generation)
        XCTAssertEqual(move.drain, DrainOutcome(state: .drained, milliseconds: 30, resolutionMilliseconds: 10, inFlightLeft: 0),
                       "the poll at 30 ms found it drained; the polls before saw requests in flight")
        XCTAssertNil(move.errors, "not settled before a second has passed")
        XCTAssertEqual(settled, [])

        responses(green, 1, status: 500)
        clock.advance(milliseconds: 970)
        move = try self.move(generation)
        let errors = try XCTUnwrap(move.errors)
        XCTAssertEqual(errors.milliseconds, 1_000)
        XCTAssertEqual([errors.route.responses5xx, errors.route.proxyErrors, errors.route.connectErrors], [2, 0, 0],
                       "no listener counter is fed here: the route's proxy errors are its listener's")
        XCTAssertEqual(errors.groups["blue"].map { [$0.responses, $0.responses5xx, $0.proxyErrors] }, [1, 1, 1])
        XCTAssertEqual(errors.groups["green"].map { [$0.responses, $0.responses5xx] }, [11, 1])
        XCTAssertEqual(settled, [2])
        let totals = try XCTUnwrap(reports.report(generation: generation)?.totals)
        XCTAssertEqual(totals.departingInFlightAtCutover, 3)
        XCTAssertEqual(totals.longestDrainMilliseconds, 30)
        XCTAssertEqual(totals.responses5xx, 2)
    }

    func testAGroupWithNothingInFlightHasDrainedAtTheCutover() throws {
        let generation = try change(["green": 100])
        XCTAssertEqual(try move(generation).drain, DrainOutcome(state: .drained, milliseconds: 0, resolutionMilliseconds: 0, inFlightLeft: 0))
        clock.advance(milliseconds: 999)
        XCTAssertEqual(settled, [])
        clock.advance(milliseconds: 1)
        XCTAssertEqual(settled, [generation])
    }

    func testASplitDrainsNothingAndShowsBothGroupsWhileItServes() throws {
        responses(blue, 40, milliseconds: 5)
        nextSecond()
        responses(blue, 20, milliseconds: 50)
        nextSecond()
        let generation = try change(["blue": 90, "green": 10])
        var move = try self.move(generation)
        XCTAssertEqual(move.drain.state, .none)
        XCTAssertEqual(move.departing, [])
        XCTAssertEqual(move.figuresBefore.seconds, 2, "the figures have two seconds, both since the start")
        XCTAssertEqual(move.figuresBefore.groups["blue"]?.requests, 60)
        XCTAssertEqual(move.figuresBefore.groups["blue"]?.counts.latency.bucketCounts, [0, 40, 20, 0, 0])
        XCTAssertEqual(move.figuresBefore.groups["green"]?.requests, 0)

        responses(blue, 9, milliseconds: 5)
        responses(green, 1, status: 502, milliseconds: 500)
        nextSecond()
        nextSecond()
        move = try self.move(generation)
        let after = try XCTUnwrap(move.figuresAfter, "while the split serves, its figures are counted up to now")
        XCTAssertEqual(after.milliseconds, 2_000)
        XCTAssertEqual(after.groups["blue"]?.responses, 9)
        XCTAssertEqual(after.groups["green"].map { [$0.responses, $0.responses5xx] }, [1, 1])
        XCTAssertNil(move.endedBy)

        responses(green, 5)
        nextSecond()
        let next = try change(["green": 100])
        clock.advance(milliseconds: 10_000)
        responses(green, 7)
        move = try self.move(generation)
        XCTAssertEqual(move.endedBy, next)
        XCTAssertEqual(move.figuresAfter?.milliseconds, 3_000, "frozen when the route changed again")
        XCTAssertEqual(move.figuresAfter?.groups["green"]?.responses, 6)
        let nextMove = try self.move(next)
        XCTAssertEqual(nextMove.figuresBefore.seconds, 3, "no more than the seconds since the route's previous change")
        XCTAssertEqual(nextMove.figuresAfter?.groups["green"]?.responses, 7)
    }

    func testAChangeBeforeTheDrainEndedSupersedesItAndOnlyMovedRoutesGetAMove() throws {
        blue.recordStarted()
        let first = try change(["green": 100])
        clock.advance(milliseconds: 200)
        let second = try change(["blue": 100], test: ["blue": 100])
        let move = try self.move(first)
        XCTAssertEqual(move.drain, DrainOutcome(state: .superseded, milliseconds: nil, resolutionMilliseconds: nil, inFlightLeft: 1))
        XCTAssertEqual(move.errors?.milliseconds, 200)
        XCTAssertEqual(move.endedBy, second)
        XCTAssertEqual(settled, [first])
        XCTAssertEqual(reports.report(generation: second)?.moves.map(\.route.listener), ["production", "test"])
        XCTAssertEqual(try self.move(second).inFlightAtCutover, ["blue": 1, "green": 0])
        XCTAssertEqual(try self.move(second).drain.state, .drained, "green had nothing in flight")
        XCTAssertEqual(try change(["blue": 100]), 0, "a change that moves nothing has no report")
    }

    func testARuleSwitchIsAMoveOfItsOwnCountedByItsGroupsOnItsListener() throws {
        let config = try ConfigLoader.parse(yaml: """
            listeners:
              production:
                bind: 127.0.0.1:8080
                forward: { blue: 100 }
                rules:
                  - { name: api, match: { path: /api/* }, forward: { api-blue: 100 } }
            target_groups:
              blue: { targets: [127.0.0.1:3000] }
              api-blue: { targets: [127.0.0.1:3002] }
              api-green: { targets: [127.0.0.1:3003] }
            """)
        table = RoutingTable(config: config, generation: 1)
        let apiBlue = registry.routeCounters(listener: "production", group: "api-blue", target: "127.0.0.1:3002")
        let apiGreen = registry.routeCounters(listener: "production", group: "api-green", target: "127.0.0.1:3003")
        responses(blue, 50)  // the listener's default route: none of the rule's figures
        apiBlue.recordStarted()
        let next = try table.replacingRuleForwards(["production": ["api": [WeightedGroup(group: "api-green", weight: 100)]]])
        let diff: JSONValue = ["production": ["api": ["before": ["api-blue": 100], "after": ["api-green": 100]]]]
        let entry = audit.append(action: "switch", caller: "127.0.0.1", generationBefore: 1, generationAfter: next.generation,
                                 request: nil, diff: ["rules": diff])
        XCTAssertTrue(entry.movedTraffic, "a rule's move links its report from the audit entry")
        XCTAssertTrue(reports.record(from: table, to: next, entry: entry))
        let move = try self.move(next.generation)
        XCTAssertEqual(move.route, RouteName(listener: "production", rule: "api"))
        XCTAssertEqual(reports.report(generation: next.generation)?.moves.count, 1, "the listener's own forward did not move")
        XCTAssertEqual(move.inFlightAtCutover, ["api-blue": 1, "api-green": 0])
        XCTAssertEqual(move.drain.state, .watching)

        clock.advance(milliseconds: 20)
        apiBlue.recordResponse(status: 200, durationNanoseconds: 1_000_000)
        apiBlue.recordFinished()
        responses(apiGreen, 4, status: 502)
        responses(blue, 30, status: 500)
        clock.advance(milliseconds: 1_000)
        let errors = try XCTUnwrap(try self.move(next.generation).errors)
        XCTAssertEqual(try self.move(next.generation).drain.state, .drained)
        XCTAssertEqual([errors.route.responses, errors.route.responses5xx], [5, 4],
                       "the rule's route is its groups' figures, not the listener's (whose default route had 30 errors)")
        XCTAssertEqual(errors.groups["api-green"]?.responses5xx, 4)
    }

    func testADrainThatNeverEndsIsWatchedForAMinute() throws {
        blue.recordStarted()
        let generation = try change(["green": 100])
        clock.advance(by: SwitchReports.drainWatchLimit - 50_000_000)
        XCTAssertEqual(try move(generation).drain.state, .watching)
        clock.advance(by: 50_000_000)
        XCTAssertEqual(try move(generation).drain, DrainOutcome(state: .timedOut, milliseconds: nil, resolutionMilliseconds: nil, inFlightLeft: 1))
        XCTAssertEqual(try move(generation).errors?.milliseconds, 60_000)
        XCTAssertEqual(clock.pendingTimers, 0, "the watch has stopped")
    }

    func testTheNewestReportsAreKept() throws {
        for index in 0...SwitchReports.capacity { try change([index % 2 == 0 ? "green" : "blue": 100]) }
        XCTAssertEqual(reports.generations.count, SwitchReports.capacity)
        XCTAssertEqual(reports.generations.first, UInt64(SwitchReports.capacity + 2))
        XCTAssertNil(reports.report(generation: 2))
        XCTAssertNotNil(reports.report(generation: 3))
    }

    func testADeploymentsReportIsItsStepsAndTheirTotals() throws {
        for _ in 0..<2 { green.recordStarted() }
        let canary = try change(["blue": 90, "green": 10])
        clock.advance(milliseconds: 1_000)
        let rollback = try change(["blue": 100])
        green.recordFinished()
        clock.advance(milliseconds: 20)
        green.recordFinished()
        clock.advance(milliseconds: 1_000)
        let steps = try [canary, rollback].map { try XCTUnwrap(reports.report(generation: $0)) }
        let report = DeploymentReport(summary: ["id": "d-1", "state": "RolledBack"], steps: steps)
        XCTAssertEqual(report.totals.departingInFlightAtCutover, 2)
        XCTAssertEqual(report.totals.longestDrainMilliseconds, 30)
        XCTAssertEqual(report.totals.unsettledMoves, 0)
        XCTAssertEqual(report.json["summary"], ["id": "d-1", "state": "RolledBack"])
        XCTAssertEqual(report.json["steps"]?.arrayValue?.compactMap { $0["generation"]?.intValue }, [2, 3])
    }
}
