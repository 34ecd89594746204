import TurnoutCore
import XCTest

/// The target health state machine: thresholds, reasons, passive ejection, draining, unused.
final class TargetHealthTests: XCTestCase {
    private let refused = ProbeResult.connectionFailed("connection refused")

    /// Records `results` with the given thresholds and returns what each call reported.
    @discardableResult
    private func feed(_ health: inout TargetHealth, _ results: [ProbeResult], healthy: Int = 2, unhealthy: Int = 2) -> [Bool] {
        results.map { health.record($0, healthyThreshold: healthy, unhealthyThreshold: unhealthy) }
    }

    private func assertHealth(
        _ health: TargetHealth, _ state: TargetHealthState, _ reason: TargetHealthReason?, _ description: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(health.state, state, file: file, line: line)
        XCTAssertEqual(health.reason, reason, file: file, line: line)
        XCTAssertEqual(health.description, description, file: file, line: line)
    }

    private func healthyTarget() -> TargetHealth {
        var health = TargetHealth(checkEnabled: true)
        feed(&health, [.passed(status: 200), .passed(status: 200)])
        XCTAssertEqual(health.state, .healthy)
        return health
    }

    func testANewTargetIsInitialUntilItsFirstCheck() {
        let health = TargetHealth(checkEnabled: true)
        assertHealth(health, .initial, .registrationInProgress, "Target registration is in progress")
        XCTAssertFalse(health.isRoutable)
        XCTAssertFalse(health.isDraining)
        XCTAssertFalse(health.isEjected)
        XCTAssertTrue(health.inUse)
    }

    func testInitialBecomesHealthyAtExactlyTheHealthyThreshold() {
        var health = TargetHealth(checkEnabled: true)
        XCTAssertEqual(feed(&health, [.passed(status: 200), .passed(status: 204)], healthy: 3), [false, false])
        assertHealth(health, .initial, .initialHealthChecking, "Initial health checks in progress")
        XCTAssertFalse(health.isRoutable)
        XCTAssertEqual(feed(&health, [.passed(status: 200)], healthy: 3), [true])
        assertHealth(health, .healthy, nil, "")
        XCTAssertTrue(health.isRoutable)
        XCTAssertEqual(feed(&health, [.passed(status: 200)], healthy: 3), [false])
    }

    func testInitialBecomesUnhealthyAtExactlyTheUnhealthyThreshold() {
        var health = TargetHealth(checkEnabled: true)
        XCTAssertEqual(feed(&health, [.timedOut, .timedOut], unhealthy: 3), [false, false])
        assertHealth(health, .initial, .initialHealthChecking, "Initial health checks in progress")
        XCTAssertEqual(feed(&health, [.timedOut], unhealthy: 3), [true])
        assertHealth(health, .unhealthy, .timeout, "Request timed out")
        XCTAssertFalse(health.isRoutable)
    }

    func testMixedResultsInInitialResetTheCounts() {
        var health = TargetHealth(checkEnabled: true)
        XCTAssertEqual(feed(&health, [.passed(status: 200), .timedOut, .passed(status: 200), .timedOut]), [false, false, false, false])
        XCTAssertEqual(health.state, .initial)
        XCTAssertEqual(feed(&health, [.timedOut]), [true])
        XCTAssertEqual(health.state, .unhealthy)
    }

    func testHealthyTargetSurvivesFailuresBelowTheThreshold() {
        var health = healthyTarget()
        XCTAssertEqual(feed(&health, [.timedOut, .timedOut], unhealthy: 3), [false, false])
        assertHealth(health, .healthy, nil, "")
        XCTAssertTrue(health.isRoutable)
        XCTAssertEqual(feed(&health, [.codeMismatch(status: 503)], unhealthy: 3), [true])
        assertHealth(health, .unhealthy, .responseCodeMismatch, "Health checks failed with these codes: [503]")
    }

    func testAPassBetweenFailuresRestartsTheCount() {
        var health = healthyTarget()
        XCTAssertEqual(feed(&health, [.timedOut, .timedOut, .passed(status: 200), .timedOut, .timedOut], unhealthy: 3),
                       [false, false, false, false, false])
        XCTAssertEqual(health.state, .healthy)
        XCTAssertEqual(feed(&health, [.timedOut], unhealthy: 3), [true])
        XCTAssertEqual(health.state, .unhealthy)
    }

    func testUnhealthyRecoversAtExactlyTheHealthyThreshold() {
        var health = healthyTarget()
        feed(&health, [refused, refused])
        assertHealth(health, .unhealthy, .failedHealthChecks, "connection refused")
        XCTAssertEqual(feed(&health, [.passed(status: 200), .passed(status: 200)], healthy: 3), [false, false])
        // Still showing the last failure: nothing new failed.
        assertHealth(health, .unhealthy, .failedHealthChecks, "connection refused")
        XCTAssertEqual(feed(&health, [refused, .passed(status: 200), .passed(status: 200)], healthy: 3), [false, false, false])
        XCTAssertEqual(feed(&health, [.passed(status: 200)], healthy: 3), [true])
        assertHealth(health, .healthy, nil, "")
    }

    func testUnhealthyShowsTheLatestFailureWithoutAStateChange() {
        var health = healthyTarget()
        feed(&health, [.timedOut, .timedOut])
        XCTAssertEqual(health.reason, .timeout)
        XCTAssertEqual(feed(&health, [.codeMismatch(status: 500)]), [false])
        assertHealth(health, .unhealthy, .responseCodeMismatch, "Health checks failed with these codes: [500]")
        XCTAssertEqual(feed(&health, [.connectionFailed("connection reset")]), [false])
        assertHealth(health, .unhealthy, .failedHealthChecks, "connection reset")
    }

    func testAProbeNotSentCountsNeitherWay() {
        // Out of descriptors on the checker's side: nothing is learnt about the target.
        let notSent = ProbeResult.notSent("too many open files")
        var health = healthyTarget()
        XCTAssertEqual(feed(&health, [.timedOut, notSent, notSent, notSent]), [false, false, false, false])
        assertHealth(health, .healthy, nil, "")
        // The failure run is not interrupted either: the next failure completes it.
        XCTAssertEqual(feed(&health, [.timedOut]), [true])
        assertHealth(health, .unhealthy, .timeout, "Request timed out")
        XCTAssertEqual(feed(&health, [.passed(status: 200), notSent, notSent]), [false, false, false])
        XCTAssertEqual(feed(&health, [.passed(status: 200)]), [true])
        var initial = TargetHealth(checkEnabled: true)
        XCTAssertEqual(feed(&initial, [notSent, notSent, notSent]), [false, false, false])
        assertHealth(initial, .initial, .registrationInProgress, "Target registration is in progress")
    }

    func testPassiveEjectionIsImmediateAndOnePassClearsIt() {
        var health = healthyTarget()
        XCTAssertTrue(health.eject())
        assertHealth(health, .unhealthy, .passiveEjection,
                     "Consecutive requests failed; out of rotation until the next passing health check")
        XCTAssertTrue(health.isEjected)
        XCTAssertFalse(health.isRoutable)
        XCTAssertFalse(health.eject(), "a second ejection changes nothing")
        XCTAssertEqual(feed(&health, [.passed(status: 200)], healthy: 5), [true])
        assertHealth(health, .healthy, nil, "")
        XCTAssertFalse(health.isEjected)
        XCTAssertTrue(health.isRoutable)
    }

    func testFailedChecksWhileEjectedTurnIntoAnOrdinaryUnhealthyTarget() {
        var health = healthyTarget()
        health.eject()
        XCTAssertEqual(feed(&health, [.timedOut]), [false])
        assertHealth(health, .unhealthy, .passiveEjection,
                     "Consecutive requests failed; out of rotation until the next passing health check")
        XCTAssertEqual(feed(&health, [.timedOut]), [false])
        assertHealth(health, .unhealthy, .timeout, "Request timed out")
        XCTAssertFalse(health.isEjected)
        // Now confirmed by the checks, so one pass is no longer enough.
        XCTAssertEqual(feed(&health, [.passed(status: 200)]), [false])
        XCTAssertEqual(feed(&health, [.passed(status: 200)]), [true])
        XCTAssertEqual(health.state, .healthy)
    }

    func testEjectingAnInitialTargetReturnsItToInitialOnAPass() {
        var health = TargetHealth(checkEnabled: true)
        XCTAssertTrue(health.eject())
        XCTAssertEqual(health.state, .unhealthy)
        XCTAssertEqual(feed(&health, [.passed(status: 200)], healthy: 2), [true])
        assertHealth(health, .initial, .initialHealthChecking, "Initial health checks in progress")
        XCTAssertEqual(feed(&health, [.passed(status: 200)], healthy: 2), [true])
        XCTAssertEqual(health.state, .healthy)
    }

    func testEjectionIsIgnoredWhenItCannotApply() {
        var unhealthy = healthyTarget()
        feed(&unhealthy, [.timedOut, .timedOut])
        XCTAssertFalse(unhealthy.eject())
        XCTAssertEqual(unhealthy.reason, .timeout)

        var unchecked = TargetHealth(checkEnabled: false)
        XCTAssertFalse(unchecked.eject(), "no check would ever bring it back")
        XCTAssertTrue(unchecked.isRoutable)

        var draining = healthyTarget()
        draining.startDraining(until: 10)
        XCTAssertFalse(draining.eject())
        XCTAssertEqual(draining.state, .draining)
    }

    func testWithoutChecksATargetIsRoutableFromRegistrationAndIgnoresResults() {
        var health = TargetHealth(checkEnabled: false)
        assertHealth(health, .initial, .healthCheckDisabled, "Health checks are disabled")
        XCTAssertTrue(health.isRoutable)
        XCTAssertEqual(feed(&health, [.timedOut, .timedOut, .timedOut]), [false, false, false])
        assertHealth(health, .initial, .healthCheckDisabled, "Health checks are disabled")
    }

    func testDrainingTakesPrecedenceAndEndsAtTheDeadline() {
        var health = healthyTarget()
        XCTAssertTrue(health.startDraining(until: 5_000))
        assertHealth(health, .draining, .deregistrationInProgress, "Target deregistration is in progress")
        XCTAssertEqual(health.drainingDeadline, 5_000)
        XCTAssertTrue(health.isDraining)
        XCTAssertFalse(health.isRoutable)
        XCTAssertFalse(health.isDrained(now: 4_999))
        XCTAssertTrue(health.isDrained(now: 5_000))
        XCTAssertTrue(health.isDrained(now: 9_000))

        XCTAssertFalse(health.startDraining(until: 9_000), "the first deadline stays")
        XCTAssertEqual(health.drainingDeadline, 5_000)
        XCTAssertEqual(feed(&health, [.timedOut, .timedOut, .timedOut]), [false, false, false])
        XCTAssertFalse(health.setInUse(false))
        XCTAssertEqual(health.state, .draining)
        XCTAssertFalse(TargetHealth(checkEnabled: true).isDrained(now: .max))
    }

    func testUnusedHidesTheCheckedStateWhileChecksGoOn() {
        var health = healthyTarget()
        XCTAssertTrue(health.setInUse(false))
        assertHealth(health, .unused, .notInUse, "Target group is not used by any listener")
        XCTAssertFalse(health.inUse)
        XCTAssertTrue(health.isRoutable, "routing looks through unused at the checks")
        XCTAssertFalse(health.setInUse(false))

        XCTAssertEqual(feed(&health, [.timedOut, .timedOut]), [false, false])
        XCTAssertEqual(health.state, .unused)
        XCTAssertFalse(health.isRoutable)
        XCTAssertTrue(health.setInUse(true))
        assertHealth(health, .unhealthy, .timeout, "Request timed out")
    }

    func testReasonRawValuesAreALBs() {
        XCTAssertEqual(TargetHealthReason.allCases.map(\.rawValue), [
            "Elb.RegistrationInProgress", "Elb.InitialHealthChecking", "Target.ResponseCodeMismatch", "Target.Timeout",
            "Target.FailedHealthChecks", "Target.NotInUse", "Target.DeregistrationInProgress",
            "Target.HealthCheckDisabled", "Target.PassiveEjection",
        ])
        XCTAssertEqual(TargetHealthState.allCases.map(\.rawValue), ["initial", "healthy", "unhealthy", "draining", "unused"])
    }

    func testTheCheckedStateIsWhatTheChecksSayWhateverTheGroupsUseAndAnEjectionMakesItUnhealthy() {
        var health = healthyTarget()
        health.setInUse(false)
        XCTAssertEqual(health.state, .unused)
        XCTAssertEqual(health.checkedState, .healthy, "the use follows the shared routing; the checks are this instance's")
        feed(&health, [refused, refused])
        XCTAssertEqual(health.checkedState, .unhealthy)

        var ejected = healthyTarget()
        ejected.eject()
        XCTAssertEqual(ejected.checkedState, .unhealthy)
        XCTAssertEqual(TargetHealth(checkEnabled: false).checkedState, .initial)
    }
}
