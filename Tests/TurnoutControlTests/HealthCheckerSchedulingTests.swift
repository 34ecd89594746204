import TurnoutCore
import XCTest
@testable import TurnoutControl

/// `HealthChecker` carrying out `HealthCheckState`'s decisions on a manual clock, with probes
/// answered by hand: one timer for the earliest probe, results reported with their latency,
/// cancellations passed on to the prober.
final class HealthCheckerSchedulingTests: XCTestCase {
    private let clock = ManualClock()
    private let prober = ScriptedProber()
    private var changes: [HealthChange] = []
    private var probes: [(group: String, target: HostPort, seconds: Double)] = []
    private let a = loopback(3000), b = loopback(3001)

    /// A checker whose first probes are due `firstDelays` ms after registration, in target order, and
    /// whose later probes come at the lowest of an interval ±10%.
    private func checker(firstDelays: [UInt64]) -> HealthChecker {
        var delays = firstDelays
        let firstProbeRange: ClosedRange<UInt64> = 0...999_999_999
        return HealthChecker(
            clock: clock, prober: prober,
            random: { range in range == firstProbeRange ? delays.removeFirst() * 1_000_000 : range.lowerBound },
            logger: CapturedLog().logger,
            onChange: { [unowned self] in changes.append($0) },
            onProbe: { [unowned self] in probes.append(($0, $1, $2)) })
    }

    /// 1 s interval, 200 ms timeout, thresholds 2.
    private func blue(_ targets: [HostPort]) -> [GroupRoute] {
        let check = HealthCheckConfig(interval: .seconds(1), timeout: .milliseconds(200), healthyThreshold: 2,
                                      unhealthyThreshold: 2, matcher: StatusMatcher.parse("200")!)
        return routingTable([TargetGroupConfig(name: "blue", targets: targets, healthCheck: check)]).groups
    }

    func testOneTimerWakesTheCheckerWhenTheEarliestProbeIsDue() {
        let start = clock.monotonicNanoseconds
        let checker = checker(firstDelays: [300, 100])
        checker.update(groups: blue([a, b]))
        XCTAssertEqual(clock.pendingDeadlines, [start + 100_000_000])
        XCTAssertEqual(prober.orders, [])

        clock.advance(milliseconds: 100)
        XCTAssertEqual(prober.orders.map(\.target), [b])
        XCTAssertEqual(clock.pendingDeadlines, [start + 300_000_000])
        clock.advance(milliseconds: 200)
        XCTAssertEqual(prober.orders.map(\.target), [b, a])
        // b's next probe: 100 ms + 1 s - 100 ms (the lowest of ±10%).
        XCTAssertEqual(clock.pendingDeadlines, [start + 1_000_000_000])
    }

    func testResultsAreReportedWithTheirLatencyAndChangesOnce() {
        let checker = checker(firstDelays: [0])
        checker.update(groups: blue([a]))
        clock.advance(by: 0)
        clock.advance(milliseconds: 30)
        prober.answer(a, with: .passed(status: 200))
        XCTAssertEqual(probes.map(\.seconds), [0.03])
        XCTAssertEqual(changes, [], "one pass is below the threshold")

        clock.advance(milliseconds: 870)
        XCTAssertEqual(prober.running.count, 1)
        clock.advance(milliseconds: 5)
        prober.answer(a, with: .passed(status: 200))
        XCTAssertEqual(changes.map(\.description), ["target 127.0.0.1:3000 in blue: initial → healthy"])
        XCTAssertEqual(probes.map(\.group), ["blue", "blue"])
        XCTAssertEqual(checker.health(group: "blue", target: a)?.state, .healthy)
        XCTAssertEqual(checker.snapshot().first?.targets.first?.routable, true)
    }

    func testPassiveEjectionIsReportedOnce() {
        let checker = checker(firstDelays: [0])
        checker.update(groups: blue([a]))
        for _ in 0..<2 {
            clock.advance(milliseconds: 900)
            prober.answer(a, with: .passed(status: 200))
        }
        XCTAssertTrue(checker.passiveEjection(group: "blue", target: a))
        XCTAssertFalse(checker.passiveEjection(group: "blue", target: a))
        XCTAssertEqual(changes.map(\.description), [
            "target 127.0.0.1:3000 in blue: initial → healthy",
            "target 127.0.0.1:3000 in blue: healthy → unhealthy (Target.PassiveEjection)",
        ])
    }

    func testRemovingATargetCancelsItsRunningProbeAndShutdownCancelsTheRest() {
        let checker = checker(firstDelays: [0, 0])
        checker.update(groups: blue([a, b]))
        clock.advance(by: 0)
        let running = prober.running
        XCTAssertEqual(running.map(\.target), [a, b])

        checker.update(groups: blue([b]))
        XCTAssertEqual(prober.cancelled, [running[0].registration])
        XCTAssertNil(checker.health(group: "blue", target: a))

        checker.shutdown()
        XCTAssertEqual(prober.cancelled, running.map(\.registration))
        XCTAssertEqual(clock.pendingTimers, 0)
        XCTAssertEqual(checker.snapshot(), [])
    }

    func testAGroupWithoutChecksSetsNoTimer() {
        let checker = HealthChecker(clock: clock, prober: prober, logger: CapturedLog().logger)
        let groups = routingTable([TargetGroupConfig(name: "blue", targets: [a], healthCheck: HealthCheckConfig(enabled: false))]).groups
        checker.update(groups: groups)
        XCTAssertEqual(clock.pendingTimers, 0)
        clock.advance(milliseconds: 60_000)
        XCTAssertEqual(prober.orders, [])
    }
}
