import TurnoutCore
import XCTest
@testable import TurnoutControl

/// The health checker's decisions as a pure state machine: time is a number passed in, the
/// schedule's spread comes from a scripted `random`, probes are answered by hand.
final class HealthCheckStateTests: XCTestCase {
    private let second: UInt64 = 1_000_000_000
    private let a = loopback(3000), b = loopback(3001)
    /// Every range `random` was asked for, in order.
    private var asked: [ClosedRange<UInt64>] = []
    /// What `random` answers for a range.
    private var pick: (ClosedRange<UInt64>) -> UInt64 = { $0.lowerBound }

    private func makeState() -> HealthCheckState {
        HealthCheckState(random: { [unowned self] range in
            asked.append(range)
            return pick(range)
        })
    }

    /// A 10 s interval, thresholds as given.
    private func check(enabled: Bool = true, interval: UInt64 = 10, healthy: Int = 2, unhealthy: Int = 2,
                       port: UInt16? = nil, host: String? = nil) -> HealthCheckConfig {
        HealthCheckConfig(enabled: enabled, path: "/health", port: port, interval: .seconds(interval), timeout: .seconds(2),
                          healthyThreshold: healthy, unhealthyThreshold: unhealthy, matcher: StatusMatcher.parse("200")!,
                          host: host)
    }

    private func groups(_ configs: TargetGroupConfig...) -> [GroupRoute] { routingTable(configs).groups }

    private func group(_ name: String, _ targets: [HostPort], check: HealthCheckConfig? = nil,
                       ejection: Int = 3, policy: AllUnhealthyPolicy = .failOpen) -> TargetGroupConfig {
        TargetGroupConfig(name: name, targets: targets, healthCheck: check ?? self.check(), onAllUnhealthy: policy,
                          passiveEjection: PassiveEjectionConfig(consecutiveFailures: ejection))
    }

    /// Starts the probes due at `now` and answers each with `result`; returns the changes.
    @discardableResult
    private func probe(_ state: inout HealthCheckState, at now: UInt64, _ result: ProbeResult) -> [HealthChange] {
        state.dueProbes(now: now).compactMap { state.record(result, of: $0) }
    }

    // MARK: - The schedule

    func testTheFirstProbeIsDueAtARandomMomentWithinOneInterval() {
        pick = { $0.upperBound }
        var state = makeState()
        let update = state.update(groups: groups(group("blue", [a, b])), now: 5 * second)

        XCTAssertEqual(update, HealthCheckState.Update())
        XCTAssertEqual(asked, [0...(10 * second - 1), 0...(10 * second - 1)])
        XCTAssertEqual(state.nextDeadline, 15 * second - 1)
        XCTAssertEqual(state.dueProbes(now: 15 * second - 2), [])
        let orders = state.dueProbes(now: 15 * second - 1)
        XCTAssertEqual(orders.map(\.target), [a, b])
        XCTAssertEqual(orders.map(\.group), ["blue", "blue"])
        XCTAssertEqual(Set(orders.map(\.registration)).count, 2)
    }

    func testTheNextProbeIsAnIntervalPlusOrMinusATenthLater() {
        var state = makeState()
        _ = state.update(groups: groups(group("blue", [a])), now: 0)
        for (answer, expected) in [(UInt64(0), 9 * second), (2 * second, 11 * second), (second, 10 * second)] {
            pick = { _ in answer }
            asked = []
            let now = state.nextDeadline!
            let orders = state.dueProbes(now: now)
            XCTAssertEqual(orders.count, 1)
            XCTAssertEqual(asked, [0...(2 * second)])
            XCTAssertEqual(state.nextDeadline, now + expected)
            _ = state.record(.passed(status: 200), of: orders[0])
        }
    }

    func testAProbeStillRunningWhenTheNextIsDueSkipsThatTurn() {
        var state = makeState()
        _ = state.update(groups: groups(group("blue", [a])), now: 0)
        let first = state.dueProbes(now: 0)
        XCTAssertEqual(first.count, 1)

        XCTAssertEqual(state.dueProbes(now: 9 * second), [], "the first probe is still running")
        XCTAssertEqual(state.nextDeadline, 18 * second, "the turn is skipped, not postponed")
        XCTAssertNil(state.record(.timedOut, of: first[0]))
        XCTAssertEqual(state.dueProbes(now: 18 * second).map(\.registration), first.map(\.registration))
    }

    func testAGroupWithoutChecksIsNeverProbedAndRoutesFromRegistration() {
        var state = makeState()
        _ = state.update(groups: groups(group("blue", [a], check: check(enabled: false))), now: 0)

        XCTAssertNil(state.nextDeadline)
        XCTAssertEqual(state.dueProbes(now: 1_000 * second), [])
        XCTAssertEqual(state.health(group: "blue", target: a)?.reason, .healthCheckDisabled)
        XCTAssertEqual(state.snapshot().first?.targets.first?.routable, true)
        XCTAssertNil(state.passiveEjection(group: "blue", target: a), "nothing would bring it back")
    }

    func testAnOrderNamesTheCheckedAddressAndHostHeader() {
        var state = makeState()
        _ = state.update(groups: groups(group("blue", [a], check: check(port: 9000)),
                                        group("green", [a], check: check(port: 9000, host: "app.internal"))), now: 0)
        let orders = state.dueProbes(now: 0)
        XCTAssertEqual(orders.map(\.address), [loopback(9000), loopback(9000)])
        XCTAssertEqual(orders.map(\.hostHeader), ["127.0.0.1:9000", "app.internal"])
        XCTAssertEqual(orders.map(\.target), [a, a])
    }

    // MARK: - Results

    func testThresholdsOfConsecutiveResultsDecideTheState() {
        var state = makeState()
        _ = state.update(groups: groups(group("blue", [a], check: check(healthy: 3, unhealthy: 2))), now: 0)

        XCTAssertEqual(probe(&state, at: 0, .passed(status: 200)), [])
        XCTAssertEqual(state.health(group: "blue", target: a)?.reason, .initialHealthChecking)
        XCTAssertEqual(probe(&state, at: 9 * second, .passed(status: 200)), [])
        let healthy = probe(&state, at: 18 * second, .passed(status: 200))
        XCTAssertEqual(healthy.map(\.description), ["target 127.0.0.1:3000 in blue: initial → healthy"])

        XCTAssertEqual(probe(&state, at: 27 * second, .timedOut), [], "one failure is below the threshold")
        XCTAssertEqual(probe(&state, at: 36 * second, .passed(status: 200)), [], "a pass starts the count again")
        XCTAssertEqual(probe(&state, at: 45 * second, .codeMismatch(status: 500)), [])
        let unhealthy = probe(&state, at: 54 * second, .connectionFailed("connection refused"))
        XCTAssertEqual(unhealthy.map(\.description),
                       ["target 127.0.0.1:3000 in blue: healthy → unhealthy (Target.FailedHealthChecks: connection refused)"])
        XCTAssertEqual(unhealthy.first?.previous, .healthy)
    }

    func testAResultForATargetRemovedOrRegisteredAgainChangesNothing() {
        var state = makeState()
        let blue = group("blue", [a])
        _ = state.update(groups: groups(blue), now: 0)
        let running = state.dueProbes(now: 0)

        let removal = state.update(groups: groups(group("blue", [])), now: second)
        XCTAssertEqual(removal.cancelled, running.map(\.registration))
        XCTAssertNil(state.health(group: "blue", target: a))
        _ = state.update(groups: groups(blue), now: 2 * second)
        XCTAssertNil(state.record(.passed(status: 200), of: running[0]))
        XCTAssertNil(state.record(.passed(status: 200), of: running[0]))
        XCTAssertEqual(state.health(group: "blue", target: a)?.reason, .registrationInProgress, "counted nothing")
    }

    // MARK: - Updates

    func testKeptTargetsKeepTheirHealthAndRemovedGroupsAreForgotten() {
        var state = makeState()
        _ = state.update(groups: groups(group("blue", [a]), group("green", [b])), now: 0)
        probe(&state, at: 0, .passed(status: 200))
        probe(&state, at: 9 * second, .passed(status: 200))
        let running = state.dueProbes(now: 18 * second)
        XCTAssertEqual(running.count, 2)

        let update = state.update(groups: groups(group("blue", [b, a])), now: 19 * second)
        XCTAssertEqual(update.changes, [])
        XCTAssertEqual(update.cancelled, running.filter { $0.group == "green" }.map(\.registration))
        XCTAssertEqual(state.health(group: "blue", target: a)?.state, .healthy)
        XCTAssertEqual(state.health(group: "blue", target: b)?.state, .initial)
        XCTAssertNil(state.health(group: "green", target: b))
        XCTAssertEqual(state.snapshot().map(\.group), ["blue"])
        XCTAssertEqual(state.snapshot().first?.targets.map(\.target), [b, a], "in the route's order")
        XCTAssertNil(state.record(.timedOut, of: running[0]))
        let changes = probe(&state, at: 28 * second, .timedOut)
        XCTAssertEqual(changes.map(\.description), ["target 127.0.0.1:3000 in blue: healthy → unhealthy (Target.Timeout)"],
                       "the kept target's running probe counted: this is its second failure in a row")
    }

    func testSwitchingTheCheckOffOrOnStartsTheTargetsOver() {
        var state = makeState()
        _ = state.update(groups: groups(group("blue", [a])), now: 0)
        probe(&state, at: 0, .timedOut)
        probe(&state, at: 9 * second, .timedOut)
        let running = state.dueProbes(now: 18 * second)
        XCTAssertEqual(state.health(group: "blue", target: a)?.state, .unhealthy)

        let off = state.update(groups: groups(group("blue", [a], check: check(enabled: false))), now: 19 * second)
        XCTAssertEqual(off.changes.map(\.description), ["target 127.0.0.1:3000 in blue: unhealthy → initial (Target.HealthCheckDisabled)"])
        XCTAssertEqual(off.cancelled, running.map(\.registration))
        XCTAssertNil(state.nextDeadline)
        XCTAssertNil(state.record(.timedOut, of: running[0]))

        let on = state.update(groups: groups(group("blue", [a])), now: 20 * second)
        XCTAssertEqual(on.changes, [], "initial either way")
        XCTAssertEqual(state.health(group: "blue", target: a)?.reason, .registrationInProgress)
        XCTAssertEqual(state.nextDeadline, 20 * second)
    }

    func testChangedCheckSettingsKeepHealthRescheduleAndApplyToTheProbeRunning() {
        var state = makeState()
        _ = state.update(groups: groups(group("blue", [a], check: check(unhealthy: 3))), now: 0)
        probe(&state, at: 0, .passed(status: 200))
        probe(&state, at: 9 * second, .passed(status: 200))
        probe(&state, at: 18 * second, .timedOut)
        let running = state.dueProbes(now: 27 * second)

        pick = { $0.upperBound }
        asked = []
        let update = state.update(groups: groups(group("blue", [a], check: check(interval: 20, unhealthy: 2))), now: 28 * second)
        XCTAssertEqual(update, HealthCheckState.Update(), "the running probe goes on")
        XCTAssertEqual(asked, [0...(20 * second - 1)])
        XCTAssertEqual(state.nextDeadline, 48 * second - 1)
        XCTAssertEqual(state.health(group: "blue", target: a)?.state, .healthy)
        let change = state.record(.timedOut, of: running[0])
        XCTAssertEqual(change?.health.state, .unhealthy, "the second failure in a row meets the new threshold of 2")
    }

    func testUnusedGroupsShowTheirTargetsAsUnusedWhileProbesGoOn() {
        var state = makeState()
        _ = state.update(groups: groups(group("blue", [a])), now: 0)
        probe(&state, at: 0, .passed(status: 200))
        probe(&state, at: 9 * second, .passed(status: 200))

        let unused = state.update(groups: groups(group("blue", [a, b])), unusedGroups: ["blue"], now: 10 * second)
        XCTAssertEqual(unused.changes.map(\.description), ["target 127.0.0.1:3000 in blue: healthy → unused (Target.NotInUse)"])
        XCTAssertEqual(state.health(group: "blue", target: b)?.state, .unused, "registered unused, no change to report")
        XCTAssertEqual(state.dueProbes(now: 18 * second).map(\.target), [a, b])
        XCTAssertEqual(state.snapshot().first?.targets.first?.routable, true, "routing looks through unused")

        let used = state.update(groups: groups(group("blue", [a, b])), now: 19 * second)
        XCTAssertEqual(used.changes.map(\.description), [
            "target 127.0.0.1:3000 in blue: unused → healthy",
            "target 127.0.0.1:3001 in blue: unused → initial (Elb.RegistrationInProgress)",
        ])
    }

    func testRemoveAllCancelsEveryRunningProbe() {
        var state = makeState()
        _ = state.update(groups: groups(group("blue", [a]), group("green", [a, b])), now: 0)
        let running = state.dueProbes(now: 0)
        XCTAssertEqual(Set(state.removeAll()), Set(running.map(\.registration)))
        XCTAssertEqual(state.snapshot(), [])
        XCTAssertNil(state.nextDeadline)
    }

    // MARK: - Passive ejection and routability

    func testPassiveEjectionLastsUntilTheNextPassingCheck() {
        var state = makeState()
        _ = state.update(groups: groups(group("blue", [a]), group("green", [a], ejection: 0)), now: 0)
        probe(&state, at: 0, .passed(status: 200))
        probe(&state, at: 9 * second, .passed(status: 200))

        let ejected = state.passiveEjection(group: "blue", target: a)
        XCTAssertEqual(ejected?.description, "target 127.0.0.1:3000 in blue: healthy → unhealthy (Target.PassiveEjection)")
        XCTAssertNil(state.passiveEjection(group: "blue", target: a), "already ejected")
        XCTAssertNil(state.passiveEjection(group: "green", target: a), "ejection disabled")
        XCTAssertNil(state.passiveEjection(group: "blue", target: b), "unknown target")
        XCTAssertNil(state.passiveEjection(group: "red", target: a), "unknown group")
        XCTAssertEqual(state.snapshot().first?.targets.first?.routable, true, "fail_open: the only target stays routable")

        let back = probe(&state, at: 18 * second, .passed(status: 200)).filter { $0.group == "blue" }
        XCTAssertEqual(back.map(\.description), ["target 127.0.0.1:3000 in blue: unhealthy → healthy"])
    }

    func testTheSnapshotAppliesEachGroupsAllUnhealthyPolicy() {
        var state = makeState()
        _ = state.update(groups: groups(group("blue", [a, b]), group("green", [a, b], policy: .failClosed)), now: 0)
        for now in [0, 9 * second] {
            for order in state.dueProbes(now: now) {
                _ = state.record(order.target == a ? .passed(status: 200) : .timedOut, of: order)
            }
        }
        XCTAssertEqual(state.snapshot().map { $0.targets.map(\.routable) }, [[true, false], [true, false]])

        for now in [18 * second, 27 * second] {
            for order in state.dueProbes(now: now) { _ = state.record(.timedOut, of: order) }
        }
        XCTAssertEqual(state.snapshot().map { $0.targets.map(\.routable) }, [[true, true], [false, false]])
    }
}
