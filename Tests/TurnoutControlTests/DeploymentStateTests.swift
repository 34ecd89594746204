import TurnoutCore
import TurnoutMetrics
import XCTest

@testable import TurnoutControl

/// `DeploymentState` without sockets or clock: inputs by hand, the actions and states it answers with.
final class DeploymentStateTests: XCTestCase {
    private static let exec = HookSpec(action: .exec(arguments: ["true"]), timeout: .seconds(60))

    private func spec(_ strategy: DeploymentStrategy = .allAtOnce, test: String? = "test",
                      edit: (inout DeploymentSpec) -> Void = { _ in }) -> DeploymentSpec {
        var spec = DeploymentSpec(
            listener: "production", testListener: test, targetGroup: "green", targets: [], strategy: strategy,
            readiness: DeploymentSpec.Readiness(minHealthy: .percent(100), timeout: .seconds(5)), install: nil, terminate: nil,
            hooks: [:], alarms: nil, approval: DeploymentSpec.Approval(beforeTraffic: false, timeout: nil, onTimeout: .rollback),
            terminationWait: ConfigDuration(nanoseconds: 0))
        edit(&spec)
        return spec
    }

    private func started(_ spec: DeploymentSpec, at now: UInt64 = 1000) -> (DeploymentState, [DeploymentAction]) {
        var state = DeploymentState(id: "d-1", spec: spec, liveGroup: "blue", now: now)
        let actions = state.start(now: now)
        return (state, actions)
    }

    /// Acknowledges every routing change asked for (generation counting up), until the machine asks for
    /// something else; returns that.
    @discardableResult
    private func acknowledge(_ state: inout DeploymentState, _ actions: [DeploymentAction], now: UInt64,
                             generation: inout UInt64) -> [DeploymentAction] {
        var pending = actions
        while case .route? = pending.last {
            generation += 1
            pending = state.routingApplied(generation: generation, now: now)
        }
        return pending
    }

    private func ready(_ state: inout DeploymentState, now: UInt64) -> [DeploymentAction] {
        state.readinessObserved(healthy: 1, total: 1, now: now)
    }

    func testAllAtOnceGoesThroughEveryPhaseInOrder() {
        var (state, actions) = started(spec())
        XCTAssertEqual(actions, [.checkReadiness])
        XCTAssertEqual(state.phase, .readiness)
        XCTAssertEqual(state.readinessObserved(healthy: 0, total: 1, now: 1100), [])
        XCTAssertEqual(ready(&state, now: 1200), [.route(DeploymentRouting(test: .replacement))])
        XCTAssertEqual(state.phase, .allowTestTraffic)
        XCTAssertEqual(state.routingApplied(generation: 2, now: 1300), [.route(DeploymentRouting(replacementWeight: 100))])
        XCTAssertTrue(state.testOnReplacement)
        XCTAssertEqual(state.phase, .allowTraffic)
        XCTAssertEqual(state.reason, "step 1 of 1: 100% to green")
        XCTAssertEqual(state.routingApplied(generation: 3, now: 1400), [])
        XCTAssertEqual(state.status, .succeeded)
        XCTAssertEqual(state.replacementWeight, 100)
        XCTAssertEqual(state.steps, [DeploymentState.StepRecord(index: 0, weight: 100, routed: 1400, generation: 3)])
        XCTAssertEqual(state.phases.map(\.phase), DeploymentPhase.allCases)
        XCTAssertEqual(state.phases.map(\.outcome.rawValue), [
            "skipped", "skipped", "skipped", "succeeded", "succeeded", "skipped", "skipped", "succeeded", "skipped", "skipped", "skipped",
        ])
        XCTAssertEqual(state.phases[3].detail, "1 of 1 targets healthy")
        XCTAssertEqual(state.ended, 1400)
    }

    func testCanaryPresetBakesThenMovesTheRest() throws {
        var (state, actions) = started(spec(DeploymentStrategy.preset(named: "Canary10Percent5Minutes")!, test: nil))
        XCTAssertEqual(actions, [.checkReadiness])
        XCTAssertEqual(ready(&state, now: 1000), [.route(DeploymentRouting(replacementWeight: 10))])
        XCTAssertEqual(state.routingApplied(generation: 2, now: 1000), [])
        XCTAssertEqual(state.deadline, 1000 + 300_000)
        XCTAssertEqual(state.reason, "step 1 of 2: baking at 10%")
        XCTAssertTrue(state.isWatched)
        XCTAssertEqual(state.timeElapsed(now: 300_999), [], "not before the deadline")
        XCTAssertEqual(state.timeElapsed(now: 301_000), [.route(DeploymentRouting(replacementWeight: 100))])
        XCTAssertEqual(state.routingApplied(generation: 3, now: 301_000), [])
        XCTAssertEqual(state.status, .succeeded)
        XCTAssertEqual(state.steps.map(\.weight), [10, 100])
    }

    func testLinearPresetStepsEveryInterval() {
        var (state, _) = started(spec(DeploymentStrategy.preset(named: "Linear10PercentEvery3Minutes")!, test: nil))
        var generation: UInt64 = 1
        var now: UInt64 = 1000
        acknowledge(&state, ready(&state, now: now), now: now, generation: &generation)
        for expected in stride(from: 10, through: 90, by: 10) {
            XCTAssertEqual(state.replacementWeight, expected)
            XCTAssertEqual(state.deadline, now + 180_000)
            now += 180_000
            acknowledge(&state, state.timeElapsed(now: now), now: now, generation: &generation)
        }
        XCTAssertEqual(state.status, .succeeded)
        XCTAssertEqual(state.steps.map(\.generation), (2...11).map { UInt64($0) })
    }

    func testStepsWithPauseAndApproval() throws {
        let strategy = DeploymentStrategy(name: "steps", steps: [
            DeploymentStep(weight: 20, pause: .seconds(1)), DeploymentStep(weight: 50, approval: true), DeploymentStep(weight: 100),
        ])
        var (state, _) = started(spec(strategy, test: nil))
        var generation: UInt64 = 1
        acknowledge(&state, ready(&state, now: 0), now: 0, generation: &generation)
        XCTAssertEqual(state.replacementWeight, 20)
        acknowledge(&state, state.timeElapsed(now: 1000), now: 1000, generation: &generation)
        XCTAssertEqual(state.replacementWeight, 50)
        XCTAssertEqual(state.status, .waitingForApproval)
        XCTAssertEqual(state.reason, "step 2 of 3: waiting for approval")
        XCTAssertNil(state.deadline, "no approval timeout: waits for ever")
        XCTAssertThrowsError(try state.pause(now: 1500))
        XCTAssertEqual(try state.approve(now: 2000), [.route(DeploymentRouting(replacementWeight: 100))])
        acknowledge(&state, [.route(DeploymentRouting(replacementWeight: 100))], now: 2000, generation: &generation)
        XCTAssertEqual(state.status, .succeeded)
        XCTAssertThrowsError(try state.approve(now: 2100)) { error in
            XCTAssertEqual(error as? DeploymentRefusal, DeploymentRefusal(message: "cannot approve deployment d-1: it is Succeeded"))
        }
    }

    func testApprovalBeforeTrafficTimesOutIntoRollbackOrCarriesOn() throws {
        for onTimeout in [DeploymentSpec.Approval.OnTimeout.rollback, .continue] {
            var (state, _) = started(spec {
                $0.approval = DeploymentSpec.Approval(beforeTraffic: true, timeout: .seconds(10), onTimeout: onTimeout)
            })
            var generation: UInt64 = 1
            acknowledge(&state, ready(&state, now: 0), now: 0, generation: &generation)
            XCTAssertEqual(state.status, .waitingForApproval)
            XCTAssertEqual(state.phase, .beforeAllowTraffic)
            XCTAssertEqual(state.deadline, 10_000)
            let actions = state.timeElapsed(now: 10_000)
            if onTimeout == .rollback {
                XCTAssertEqual(actions, [.route(DeploymentRouting(replacementWeight: 0, test: .live))])
                XCTAssertEqual(state.status, .rollingBack)
                XCTAssertEqual(state.reason, "no approval within 10s")
                XCTAssertEqual(state.routingApplied(generation: 3, now: 10_000), [])
                XCTAssertEqual(state.status, .rolledBack)
            } else {
                XCTAssertEqual(actions, [.route(DeploymentRouting(replacementWeight: 100))])
            }
        }
    }

    func testPauseFreezesTheBakeAndResumeGoesOnFromWhatWasLeft() throws {
        var (state, _) = started(spec(.canary(percent: 10, wait: .seconds(60)), test: nil))
        var generation: UInt64 = 1
        acknowledge(&state, ready(&state, now: 0), now: 0, generation: &generation)
        XCTAssertEqual(state.deadline, 60_000)
        XCTAssertEqual(try state.pause(now: 20_000), [])
        XCTAssertEqual(state.status, .paused)
        XCTAssertNil(state.deadline)
        XCTAssertEqual(state.timeElapsed(now: 100_000), [], "a paused bake does not end")
        XCTAssertThrowsError(try state.pause(now: 100_000))
        XCTAssertEqual(try state.resume(now: 500_000), [])
        XCTAssertEqual(state.status, .inProgress)
        XCTAssertEqual(state.deadline, 540_000, "40 s were left")
        XCTAssertEqual(state.timeElapsed(now: 540_000), [.route(DeploymentRouting(replacementWeight: 100))])
    }

    func testPauseDuringAHookHoldsTheNextPhaseUntilResume() throws {
        var (state, actions) = started(spec(test: nil) { $0.hooks[.beforeInstall] = Self.exec })
        XCTAssertEqual(actions, [.runHook(.beforeInstall, Self.exec)])
        XCTAssertEqual(state.reason, "running hook BeforeInstall")
        _ = try state.pause(now: 10)
        XCTAssertEqual(state.hookFinished(.passed(outputTail: "ok\n"), now: 20), [])
        XCTAssertTrue(state.held)
        XCTAssertEqual(state.phases.last?.outputTail, "ok\n")
        XCTAssertEqual(try state.resume(now: 30), [.checkReadiness])
        XCTAssertEqual(state.phase, .readiness)
        XCTAssertEqual(state.phases.first?.outcome, .succeeded)
    }

    func testPromoteSkipsTheRemainingWaitsAndSteps() throws {
        var (state, _) = started(spec(DeploymentStrategy.preset(named: "Linear10PercentEvery1Minute")!, test: nil) {
            $0.terminationWait = .seconds(3600)
            $0.hooks[.afterAllowTraffic] = Self.exec
        })
        var generation: UInt64 = 1
        acknowledge(&state, ready(&state, now: 0), now: 0, generation: &generation)
        acknowledge(&state, state.timeElapsed(now: 60_000), now: 60_000, generation: &generation)
        XCTAssertEqual(state.replacementWeight, 20)
        XCTAssertEqual(try state.promote(now: 70_000), [.route(DeploymentRouting(replacementWeight: 100))])
        XCTAssertEqual(state.routingApplied(generation: 4, now: 70_000), [.runHook(.afterAllowTraffic, Self.exec)])
        XCTAssertEqual(state.steps.map(\.weight), [10, 20, 100])
        XCTAssertEqual(state.hookFinished(.passed(outputTail: ""), now: 71_000), [], "the termination wait is skipped too")
        XCTAssertEqual(state.status, .succeeded)
    }

    func testPromoteEndsTheTerminationWait() throws {
        var (state, _) = started(spec(test: nil) { $0.terminationWait = .seconds(3600) })
        var generation: UInt64 = 1
        acknowledge(&state, ready(&state, now: 0), now: 0, generation: &generation)
        XCTAssertEqual(state.phase, .terminationWait)
        XCTAssertEqual(state.deadline, 3_600_000)
        XCTAssertTrue(state.isWatched)
        XCTAssertEqual(try state.promote(now: 5000), [])
        XCTAssertEqual(state.status, .succeeded)
    }

    func testRollbackAtEveryPositionMovesEverythingBackOnce() throws {
        let full = spec(.canary(percent: 10, wait: .seconds(60))) {
            $0.targets = [HostPort(host: "127.0.0.1", port: 3003)]
            $0.install = Self.exec
            $0.terminate = Self.exec
            $0.terminationWait = .seconds(600)
            $0.approval.beforeTraffic = true
            for phase in DeploymentPhase.hookPhases { $0.hooks[phase] = Self.exec }
        }
        let positions = DeploymentState.plan(for: full)
        XCTAssertEqual(positions.count, 15)
        for target in positions.indices where positions[target].phase < .retire {
            var (state, actions) = started(full)
            var generation: UInt64 = 1
            var now: UInt64 = 0
            while state.cursor < target {
                now += 1
                switch actions.last {
                case .runHook?: actions = state.hookFinished(.passed(outputTail: ""), now: now)
                case .route?: generation += 1; actions = state.routingApplied(generation: generation, now: now)
                case .checkReadiness?: actions = ready(&state, now: now)
                default:
                    actions = state.status == .waitingForApproval ? try state.approve(now: now) : state.timeElapsed(now: state.deadline!)
                }
            }
            let where_ = "\(positions[target])"
            let rollback = try state.rollback(now: now + 1)
            let back = DeploymentRouting(replacementWeight: 0, test: state.testOnReplacement ? .live : nil)
            XCTAssertEqual(rollback, (actions.last.map { if case .runHook = $0 { true } else { false } } ?? false
                                      ? [.cancelHook] : []) + [.route(back)], where_)
            XCTAssertEqual(state.status, .rollingBack, where_)
            XCTAssertFalse(state.isWatched, where_)
            XCTAssertThrowsError(try state.rollback(now: now + 2), where_)
            XCTAssertEqual(state.routingApplied(generation: generation + 1, now: now + 2), [], where_)
            XCTAssertEqual(state.status, .rolledBack, where_)
            XCTAssertEqual(state.replacementWeight, 0, where_)
            XCTAssertFalse(state.testOnReplacement, where_)
            XCTAssertEqual(state.reason, "rolled back by request", where_)
            XCTAssertEqual(state.phases.last?.outcome, .cancelled, where_)
        }
    }

    func testNoRollbackOnceRetiring() throws {
        var (state, _) = started(spec(test: nil) { $0.terminate = Self.exec })
        var generation: UInt64 = 1
        let actions = acknowledge(&state, ready(&state, now: 0), now: 0, generation: &generation)
        XCTAssertEqual(actions, [.runHook(.retire, Self.exec)])
        XCTAssertThrowsError(try state.rollback(now: 1)) { error in
            XCTAssertEqual((error as? DeploymentRefusal)?.message, "cannot rollback deployment d-1: it is InProgress in Retire")
        }
        XCTAssertEqual(state.hookFinished(.failed(reason: "exit status 1", outputTail: "no such service\n"), now: 2), [])
        XCTAssertEqual(state.status, .failed)
        XCTAssertEqual(state.reason, "terminate failed: exit status 1")
        XCTAssertEqual(state.replacementWeight, 100, "production stays on the replacement")
    }

    func testARestartWhileAHookRunsRollsBackButWhileTerminateRunsFails() {
        var (state, _) = started(spec { $0.hooks[.beforeAllowTraffic] = Self.exec })
        var generation: UInt64 = 1
        XCTAssertEqual(acknowledge(&state, ready(&state, now: 0), now: 0, generation: &generation),
                       [.runHook(.beforeAllowTraffic, Self.exec)])
        XCTAssertEqual(state.restarted(now: 5), [.route(DeploymentRouting(replacementWeight: 0, test: .live))])
        XCTAssertEqual(state.reason, "the proxy restarted while hook BeforeAllowTraffic was running")
        XCTAssertEqual(state.restarts.map(\.outcome), ["rolled back"])

        // In Retire the old version may be half stopped: no rollback onto it.
        (state, _) = started(spec(test: nil) { $0.terminate = Self.exec })
        XCTAssertEqual(acknowledge(&state, ready(&state, now: 0), now: 0, generation: &generation), [.runHook(.retire, Self.exec)])
        XCTAssertEqual(state.restarted(now: 5), [])
        XCTAssertEqual(state.status, .failed)
        XCTAssertEqual(state.reason, "the proxy restarted while terminate was running")
        XCTAssertEqual(state.restarts.map(\.outcome), ["failed"])
        XCTAssertEqual(state.phases.last.map { [$0.phase.rawValue, $0.outcome.rawValue] }, ["Retire", "failed"])
        XCTAssertEqual(state.replacementWeight, 100, "production stays on the replacement")
    }

    func testAFailingOrTimedOutHookRollsBack() {
        for (outcome, reason) in [(HookOutcome.failed(reason: "HTTP 500", outputTail: "bad"), "hook AfterAllowTestTraffic failed: HTTP 500"),
                                  (.timedOut(outputTail: ""), "hook AfterAllowTestTraffic timed out after 1m")] {
            var (state, _) = started(spec { $0.hooks[.afterAllowTestTraffic] = Self.exec })
            var generation: UInt64 = 1
            XCTAssertEqual(acknowledge(&state, ready(&state, now: 0), now: 0, generation: &generation),
                           [.runHook(.afterAllowTestTraffic, Self.exec)])
            XCTAssertEqual(state.hookFinished(outcome, now: 5), [.route(DeploymentRouting(replacementWeight: 0, test: .live))])
            XCTAssertEqual(state.reason, reason)
            let record = state.phases.first { $0.phase == .afterAllowTestTraffic }
            XCTAssertEqual(record?.outcome, .failed)
            XCTAssertEqual(record?.detail, reason)
            XCTAssertEqual(state.routingApplied(generation: 4, now: 6), [])
            XCTAssertEqual(state.status, .rolledBack)
        }
    }

    func testReadinessTimeoutRollsBackWithWhatWasSeen() {
        var (state, _) = started(spec())
        XCTAssertEqual(state.deadline, 1000 + 5000)
        _ = state.readinessObserved(healthy: 1, total: 2, now: 2000)
        XCTAssertEqual(state.timeElapsed(now: 6000), [.route(DeploymentRouting(replacementWeight: 0))])
        XCTAssertEqual(state.reason, "readiness timed out after 5s: 1 of 2 targets healthy")
        XCTAssertEqual(state.routingApplied(generation: nil, now: 6000), [])
        XCTAssertEqual(state.status, .rolledBack)
    }

    func testAlarmsRollBackOnlyWhileWatched() {
        let breach = FigureAlarmBreach(alarm: .errorRate5xx, value: 0.5, threshold: 0.01)
        var (state, _) = started(spec(.canary(percent: 10, wait: .seconds(60)), test: nil))
        XCTAssertFalse(state.isWatched, "nothing on the replacement yet")
        XCTAssertEqual(state.alarmBreached([breach], now: 1), [])
        var generation: UInt64 = 1
        acknowledge(&state, ready(&state, now: 0), now: 0, generation: &generation)
        XCTAssertEqual(state.alarmBreached([breach], now: 2), [.route(DeploymentRouting(replacementWeight: 0))])
        XCTAssertEqual(state.reason, "alarm: max_5xx_rate 0.5 > 0.01")
        XCTAssertEqual(state.alarms, [breach])
        XCTAssertEqual(state.alarmBreached([breach], now: 3), [], "once")
    }

    /// A window of `requests` answered by the replacement, `failing` of them with 500.
    private func window(requests: UInt64, failing: UInt64) -> WindowFigures {
        WindowFigures(seconds: 1, counts: FigureCounts(responses: requests, responses5xx: failing, proxyErrors: 0,
                                                       connectErrors: 0, latency: HistogramCounts(upperBounds: [0.1, 1])),
                      inFlight: 0)
    }

    func testAPassiveEjectionWaivesMinRequestsAndRollsBackByItself() {
        let target = HostPort.parse("127.0.0.1:3001")!
        let alarms = DeploymentAlarms(figures: FigureAlarms(max5xxRate: 0.1, minRequests: 100), windowSeconds: 5,
                                      maxUnhealthyTargets: nil)
        var (state, _) = started(spec(.canary(percent: 10, wait: .seconds(60)), test: nil) { $0.alarms = alarms })
        state.replacementEjected(target, now: 500)
        XCTAssertTrue(state.ejections.isEmpty, "not watched yet: nothing on the replacement")
        var generation: UInt64 = 1
        acknowledge(&state, ready(&state, now: 1000), now: 1000, generation: &generation)
        XCTAssertTrue(state.isWatched)
        // An ejected replacement gets a few requests through fail_open: under min_requests, not judged.
        let failing = window(requests: 3, failing: 3)
        XCTAssertEqual(state.alarmsJudged(candidate: failing, baseline: nil, unhealthy: 0, now: 2000), [])
        // Once one of its targets was ejected, the same window is judged from the first request.
        state.replacementEjected(target, now: 2100)
        XCTAssertEqual(state.alarmsJudged(candidate: failing, baseline: nil, unhealthy: 0, now: 3000),
                       [.route(DeploymentRouting(replacementWeight: 0))])
        XCTAssertEqual(state.status, .rollingBack)
        XCTAssertEqual(state.alarms, [FigureAlarmBreach(alarm: .errorRate5xx, value: 1, threshold: 0.1)])
        XCTAssertEqual(state.reason, "alarm: max_5xx_rate 1 > 0.1 (127.0.0.1:3001 was passively ejected)")
    }

    func testAnEjectionWithNoFigureOverItsLimitIsItselfTheAlarmForTheWindow() {
        let (a, b) = (HostPort.parse("127.0.0.1:3001")!, HostPort.parse("127.0.0.1:3002")!)
        let alarms = DeploymentAlarms(figures: FigureAlarms(maxP99: 1, minRequests: 20), windowSeconds: 5,
                                      maxUnhealthyTargets: nil)
        var (state, _) = started(spec(.canary(percent: 10, wait: .seconds(60)), test: nil) { $0.alarms = alarms })
        var generation: UInt64 = 1
        acknowledge(&state, ready(&state, now: 1000), now: 1000, generation: &generation)
        state.replacementEjected(a, now: 1500)
        // Five seconds later the ejection is out of the window: forgotten, nothing to judge.
        XCTAssertEqual(state.alarmsJudged(candidate: window(requests: 0, failing: 0), baseline: nil, unhealthy: 0, now: 6501), [])
        XCTAssertTrue(state.ejections.isEmpty)
        state.replacementEjected(a, now: 7000)
        state.replacementEjected(b, now: 7100)
        state.replacementEjected(a, now: 7200)
        XCTAssertEqual(state.alarmsJudged(candidate: nil, baseline: nil, unhealthy: 0, now: 8000),
                       [.route(DeploymentRouting(replacementWeight: 0))])
        XCTAssertEqual(state.alarms, [FigureAlarmBreach(alarm: .passiveEjection, value: 2, threshold: 0)])
        XCTAssertEqual(state.reason,
                       "alarm: passive_ejection 2 > 0 (127.0.0.1:3001, 127.0.0.1:3002 were passively ejected)")
    }

    func testWithoutAlarmsAnEjectionRollsNothingBack() {
        var (state, _) = started(spec(.canary(percent: 10, wait: .seconds(60)), test: nil))
        var generation: UInt64 = 1
        acknowledge(&state, ready(&state, now: 1000), now: 1000, generation: &generation)
        state.replacementEjected(HostPort.parse("127.0.0.1:3001")!, now: 1500)
        XCTAssertEqual(state.alarmsJudged(candidate: nil, baseline: nil, unhealthy: 1, now: 2000), [])
        XCTAssertEqual(state.status, .inProgress)
    }

    func testARollbackDeregistersWhatTheDeploymentRegistered() throws {
        let (kept, added) = (HostPort.parse("127.0.0.1:3001")!, HostPort.parse("127.0.0.1:3002")!)
        var (state, actions) = started(spec(.canary(percent: 10, wait: .seconds(60)), test: nil) {
            $0.targets = [kept, added]
        })
        XCTAssertEqual(actions, [.route(DeploymentRouting(register: [kept, added]))])
        // The group had `kept` already: only `added` is the deployment's.
        XCTAssertEqual(state.routingApplied(generation: 2, registered: [added], now: 1000), [.checkReadiness])
        XCTAssertEqual(state.registered, [added])
        var generation: UInt64 = 2
        acknowledge(&state, ready(&state, now: 1100), now: 1100, generation: &generation)
        XCTAssertEqual(try state.rollback(now: 1200), [.route(DeploymentRouting(replacementWeight: 0, deregister: [added]))])
        XCTAssertEqual(state.routingApplied(generation: 5, now: 1300), [])
        XCTAssertEqual(state.status, .rolledBack)
        XCTAssertEqual(state.registered, [])
    }

    func testStopLeavesRoutingAndCancelsAHook() throws {
        var (state, _) = started(spec { $0.hooks[.afterAllowTestTraffic] = Self.exec })
        var generation: UInt64 = 1
        acknowledge(&state, ready(&state, now: 0), now: 0, generation: &generation)
        XCTAssertEqual(try state.stop(now: 9), [.cancelHook])
        XCTAssertEqual(state.status, .stopped)
        XCTAssertTrue(state.testOnReplacement)
        XCTAssertEqual(state.hookFinished(.passed(outputTail: ""), now: 10), [])
        XCTAssertThrowsError(try state.stop(now: 11))
    }

    func testAFailedRollbackFails() {
        var (state, _) = started(spec(test: nil))
        _ = ready(&state, now: 0)
        XCTAssertEqual(state.routingFailed("disk full", now: 1), [.route(DeploymentRouting(replacementWeight: 0))])
        XCTAssertEqual(state.status, .rollingBack)
        XCTAssertEqual(state.routingFailed("disk full", now: 2), [])
        XCTAssertEqual(state.status, .failed)
        XCTAssertEqual(state.reason, "the rollback could not be saved: disk full")
    }
}
