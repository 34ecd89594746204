import TurnoutCore
import XCTest

/// `routableTargets`: healthy targets get traffic; with none, fail open or fail closed.
final class TargetHealthRoutingTests: XCTestCase {
    private func target(_ results: [ProbeResult], checkEnabled: Bool = true) -> TargetHealth {
        var health = TargetHealth(checkEnabled: checkEnabled)
        for result in results { health.record(result, healthyThreshold: 2, unhealthyThreshold: 2) }
        return health
    }

    private var healthy: TargetHealth { target([.passed(status: 200), .passed(status: 200)]) }
    private var unhealthy: TargetHealth { target([.timedOut, .timedOut]) }
    private var initial: TargetHealth { target([]) }

    private func draining(_ health: TargetHealth) -> TargetHealth {
        var health = health
        health.startDraining(until: 1)
        return health
    }

    func testOnlyHealthyTargetsWhenThereAreAny() {
        let group = [unhealthy, healthy, initial, draining(healthy), healthy]
        XCTAssertEqual(routableTargets(group, policy: .failOpen), [false, true, false, false, true])
        XCTAssertEqual(routableTargets(group, policy: .failClosed), [false, true, false, false, true])
    }

    func testFailOpenRoutesToEveryTargetNotDraining() {
        let group = [unhealthy, initial, draining(unhealthy), unhealthy]
        XCTAssertEqual(routableTargets(group, policy: .failOpen), [true, true, false, true])
    }

    func testFailClosedRoutesNowhere() {
        let group = [unhealthy, initial, draining(unhealthy)]
        XCTAssertEqual(routableTargets(group, policy: .failClosed), [false, false, false])
    }

    func testEjectedTargetsLeaveTheRotation() {
        var ejected = healthy
        ejected.eject()
        XCTAssertEqual(routableTargets([ejected, healthy], policy: .failClosed), [false, true])
        XCTAssertEqual(routableTargets([ejected], policy: .failOpen), [true], "fail open still applies")
        XCTAssertEqual(routableTargets([ejected], policy: .failClosed), [false])
    }

    func testWithoutChecksEveryRegisteredTargetIsRoutable() {
        let unchecked = target([], checkEnabled: false)
        XCTAssertEqual(routableTargets([unchecked, unchecked, draining(unchecked)], policy: .failClosed), [true, true, false])
    }

    func testEmptyAndAllDrainingGroups() {
        XCTAssertEqual(routableTargets([], policy: .failOpen), [])
        XCTAssertEqual(routableTargets([draining(healthy)], policy: .failOpen), [false])
    }
}
