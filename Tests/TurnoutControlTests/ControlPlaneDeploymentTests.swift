import TurnoutCore
import XCTest

@testable import TurnoutControl

/// A `HookRunning` whose runs the test ends: it keeps each run and answers only when told.
final class ScriptedHookRunner: HookRunning {
    private(set) var started: [(hook: HookSpec, context: HookContext)] = []
    private(set) var cancelled: [UInt64] = []
    private var completions: [UInt64: (HookOutcome) -> Void] = [:]

    func start(_ hook: HookSpec, context: HookContext, completion: @escaping (HookOutcome) -> Void) {
        started.append((hook, context))
        completions[context.runID] = completion
    }

    func cancel(runID: UInt64) {
        cancelled.append(runID)
        completions[runID] = nil
    }

    /// Ends the latest run with `outcome`.
    func finishLatest(_ outcome: HookOutcome) {
        guard let run = started.last?.context.runID, let completion = completions.removeValue(forKey: run) else {
            return XCTFail("no hook running")
        }
        completion(outcome)
    }
}

/// The deployment runner on the control plane: the API, each step one acknowledged commit, the timers on the
/// manual clock, hooks through a scripted runner.
final class ControlPlaneDeploymentTests: XCTestCase {
    private var harness: ControlPlaneHarness!
    private var hooks: ScriptedHookRunner!

    override func setUpWithError() throws {
        let directory = StateTestDirectory()
        harness = try ControlPlaneHarness(yaml: ControlPlaneHarness.yaml(stateDir: directory.path, test: "{ blue: 100 }"),
                                          directory: directory)
        hooks = ScriptedHookRunner()
    }

    override func tearDown() {
        harness.directory.remove()
        // XCTest keeps every test case object until the process exits: let go of the plane and its timers now.
        harness = nil
        hooks = nil
        super.tearDown()
    }

    private func forward(_ listener: String) -> [String] {
        ControlPlaneHarness.forward(harness.dataPlane.last!.table, listener).filter { !$0.hasSuffix("=0") }
    }

    private func deploy(_ spec: String) throws -> String {
        let answer = harness.send("POST", "/v1/deployments", spec)
        XCTAssertEqual(answer.status, 201, "\(answer.json)")
        return try XCTUnwrap(answer.json["id"]?.stringValue)
    }

    private func deployment(_ id: String) -> JSONValue { harness.send("GET", "/v1/deployments/\(id)").json }

    func testCanaryMovesProductionInAcknowledgedStepsOnTheClock() throws {
        let id = try deploy(#"{"target_group": "green", "strategy": "Canary10Percent5Minutes"}"#)
        XCTAssertEqual(forward("test"), ["green=100"])
        XCTAssertEqual(forward("production"), ["blue=90", "green=10"])
        var record = deployment(id)
        XCTAssertEqual(record["status"]?.stringValue, "InProgress")
        XCTAssertEqual(record["phase"]?.stringValue, "AllowTraffic")
        XCTAssertEqual(record["step"]?.intValue, 1)
        XCTAssertEqual(record["steps_total"]?.intValue, 2)
        XCTAssertEqual(record["reason"]?.stringValue, "step 1 of 2: baking at 10%")
        harness.clock.advance(milliseconds: 299_999)
        XCTAssertEqual(forward("production"), ["blue=90", "green=10"])
        harness.clock.advance(milliseconds: 1)
        XCTAssertEqual(forward("production"), ["green=100"])
        record = deployment(id)
        XCTAssertEqual(record["status"]?.stringValue, "Succeeded")
        XCTAssertEqual(record["steps"]?.arrayValue?.map { $0["weight"]?.intValue }, [10, 100])
        // Each change is in the audit log and the journal, made by the deployment.
        let entries = harness.auditEntries.filter { $0["action"]?.stringValue == "deployment" }
        XCTAssertEqual(entries.count, 3)
        XCTAssertEqual(Set(entries.compactMap { $0["caller"]?.stringValue }), ["deployment \(id)"])
        XCTAssertEqual(try harness.journalRecords().compactMap { $0.audit?.action }.suffix(3), ["deployment", "deployment", "deployment"])
        let report = harness.send("GET", "/v1/deployments/\(id)/report")
        XCTAssertEqual(report.status, 200)
        XCTAssertEqual(report.json["steps"]?.arrayValue?.count, 3)
        XCTAssertEqual(report.json["summary"]?["status"]?.stringValue, "Succeeded")
        // The roles swap: green is the live group for the next deployment.
        let back = harness.send("POST", "/v1/deployments", #"{"target_group": "green"}"#)
        XCTAssertEqual(back.status, 400)
        XCTAssertEqual(back.json["error"]?["message"]?.stringValue,
                       "deployment spec: 'target_group': 'green' is the live group of 'production': name the replacement")
        let log = harness.plane.events.log
        let kinds = (log.oldestID!...log.newestID).compactMap { log.event($0) }.filter { $0.kind == .deployment && $0.data["deployment"]?.stringValue == id }
            .map { $0.data["phase"]?.stringValue }
        XCTAssertTrue(kinds.contains("AllowTraffic") && kinds.last == "Retire", "\(kinds)")
    }

    /// The record shows the limits the replacement's figures are judged against, the p99 in milliseconds.
    func testTheRecordShowsItsAlarmLimits() throws {
        let judged = try deploy(#"""
            {"target_group": "green", "strategy": "Canary10Percent5Minutes",
             "alarms": {"max_5xx_rate": 0.01, "max_p99": "500ms", "max_p99_ratio": 2.0, "window": "30s", "min_requests": 20}}
            """#)
        XCTAssertEqual(deployment(judged)["alarm_limits"], [
            "window_seconds": 30, "min_requests": 20, "max_5xx_rate": 0.01, "max_p99_ms": 500, "max_p99_ratio": 2,
            "max_connect_errors": nil, "max_unhealthy_targets": nil,
        ])
        XCTAssertEqual(harness.send("POST", "/v1/deployments/\(judged)/rollback").status, 200)
        let unjudged = try deploy(#"{"target_group": "green", "strategy": "Canary10Percent5Minutes"}"#)
        XCTAssertEqual(deployment(unjudged)["alarm_limits"], .null)
    }

    func testOneDeploymentPerListenerAndActionsByStatus() throws {
        let id = try deploy(#"{"target_group": "green", "strategy": {"steps": [{"weight": 20, "approval": true}, {"weight": 100}]}}"#)
        let busy = harness.send("POST", "/v1/deployments", #"{"target_group": "green"}"#)
        XCTAssertEqual(busy.status, 409)
        XCTAssertEqual(busy.errorCode, "conflict")
        XCTAssertEqual(busy.json["error"]?["message"]?.stringValue,
                       "deployment \(id) is in progress on 'production' (WaitingForApproval)")
        let pause = harness.send("POST", "/v1/deployments/\(id)/pause")
        XCTAssertEqual(pause.status, 409)
        XCTAssertEqual(pause.json["error"]?["message"]?.stringValue,
                       "cannot pause deployment \(id): it is WaitingForApproval in AllowTraffic")
        let beside = harness.send("POST", "/v1/switch", #"{"to": "green"}"#)
        XCTAssertEqual(beside.status, 409)
        XCTAssertEqual(beside.json["error"]?["message"]?.stringValue,
                       "deployment \(id) is in progress on 'production': promote, roll back or stop it first")
        XCTAssertEqual(harness.send("PUT", "/v1/listeners/test/forward", #"{"blue": 100}"#).status, 200, "test is not shifting")
        XCTAssertEqual(harness.send("POST", "/v1/deployments/\(id)/dance").status, 404)
        XCTAssertEqual(harness.send("POST", "/v1/deployments/nope/approve").status, 404)
        XCTAssertEqual(harness.send("GET", "/v1/deployments/\(id)/approve").status, 405)
        let approved = harness.send("POST", "/v1/deployments/\(id)/approve")
        XCTAssertEqual(approved.status, 200)
        XCTAssertEqual(approved.json["status"]?.stringValue, "Succeeded")
        XCTAssertEqual(forward("production"), ["green=100"])
        XCTAssertEqual(harness.send("POST", "/v1/deployments/\(id)/rollback").status, 409)
        let list = harness.send("GET", "/v1/deployments").json["deployments"]?.arrayValue ?? []
        XCTAssertEqual(list.map { $0["id"]?.stringValue }, [id])
    }

    func testARetryWithTheIdempotencyKeyGetsTheFirstAnswerAfterARestartToo() throws {
        let spec = #"{"target_group": "green", "strategy": {"canary": {"percent": 10, "wait": "60s"}}}"#
        let key = ["Idempotency-Key": "release-42"]
        let first = harness.send("POST", "/v1/deployments", spec, headers: key)
        XCTAssertEqual(first.status, 201)
        let id = try XCTUnwrap(first.json["id"]?.stringValue)
        let generation = harness.dataPlane.last!.table.generation
        let again = harness.send("POST", "/v1/deployments", spec, headers: key)
        XCTAssertEqual(again.status, 201)
        XCTAssertEqual(again.json, first.json)
        XCTAssertEqual(again.header("Idempotent-Replayed"), "true")
        XCTAssertEqual(harness.dataPlane.last!.table.generation, generation, "nothing started again")
        XCTAssertEqual(harness.send("GET", "/v1/deployments").json["deployments"]?.arrayValue?.count, 1)
        let other = harness.send("POST", "/v1/deployments", #"{"target_group": "green"}"#, headers: key)
        XCTAssertEqual(other.status, 422)
        XCTAssertEqual(other.errorCode, "idempotency_key_reused")
        // The reply is in the journal: a restart keeps it.
        harness = try harness.restarted(yaml: yaml)
        let afterRestart = harness.send("POST", "/v1/deployments", spec, headers: key)
        XCTAssertEqual(afterRestart.status, 201)
        XCTAssertEqual(afterRestart.json["id"]?.stringValue, id)
        XCTAssertEqual(afterRestart.header("Idempotent-Replayed"), "true")
    }

    func testARollbackDeregistersTheTargetsTheDeploymentRegisteredAndTheyDrain() throws {
        let id = try deploy(#"{"target_group": "green", "targets": ["127.0.0.1:3002", "127.0.0.1:3009"], "test_listener": null,"#
            + #" "strategy": {"canary": {"percent": 10, "wait": "60s"}}}"#)
        let green = { self.harness.send("GET", "/v1/target-groups/green/targets").json["targets"]?.arrayValue ?? [] }
        XCTAssertEqual(green().map { $0["target"]?.stringValue }, ["127.0.0.1:3002", "127.0.0.1:3009"])
        XCTAssertEqual(harness.send("POST", "/v1/deployments/\(id)/rollback").status, 200)
        XCTAssertEqual(deployment(id)["status"]?.stringValue, "RolledBack")
        XCTAssertEqual(forward("production"), ["blue=100"])
        // 127.0.0.1:3002 was green's before the deployment and stays; the one it registered drains, then is gone.
        let targets = harness.dataPlane.last!.table.groups.first { $0.name == "green" }!.registered
        XCTAssertEqual(targets.map(\.description), ["127.0.0.1:3002"])
        XCTAssertEqual(green().map { "\($0["target"]?.stringValue ?? "") \($0["state"]?.stringValue ?? "")" },
                       ["127.0.0.1:3002 draining", "127.0.0.1:3009 draining"])
        let rollback = harness.auditEntries.last { $0["action"]?.stringValue == "deployment" }
        XCTAssertEqual(rollback?["diff"]?["target_groups"]?["green"]?["after"], ["127.0.0.1:3002"])
        harness.clock.advance(milliseconds: 30_000)
        XCTAssertEqual(green().map { $0["target"]?.stringValue }, ["127.0.0.1:3002"])
    }

    func testPauseFreezesTheBakeAndRollbackMidCanaryPutsEverythingBack() throws {
        let id = try deploy(#"{"target_group": "green", "strategy": {"canary": {"percent": 25, "wait": "10s"}}}"#)
        harness.clock.advance(milliseconds: 4000)
        XCTAssertEqual(harness.send("POST", "/v1/deployments/\(id)/pause").json["status"]?.stringValue, "Paused")
        harness.clock.advance(milliseconds: 60_000)
        XCTAssertEqual(forward("production"), ["blue=75", "green=25"])
        XCTAssertEqual(harness.send("POST", "/v1/deployments/\(id)/resume").json["status"]?.stringValue, "InProgress")
        harness.clock.advance(milliseconds: 5999)
        XCTAssertEqual(forward("production"), ["blue=75", "green=25"], "6 s were left")
        let rolled = harness.send("POST", "/v1/deployments/\(id)/rollback")
        XCTAssertEqual(rolled.json["status"]?.stringValue, "RolledBack")
        XCTAssertEqual(forward("production"), ["blue=100"])
        XCTAssertEqual(forward("test"), ["blue=100"])
        harness.clock.advance(milliseconds: 60_000)
        XCTAssertEqual(forward("production"), ["blue=100"])
    }

    func testHooksRunThroughTheRunnerAndAFailureRollsBack() throws {
        let spec = #"{"target_group": "green", "hooks": {"AfterAllowTestTraffic": {"http": "http://127.0.0.1:7000/validate"}}}"#
        let refused = harness.send("POST", "/v1/deployments", spec)
        XCTAssertEqual(refused.status, 422)
        harness.plane.hookRunner = hooks
        let id = try deploy(spec)
        XCTAssertEqual(hooks.started.count, 1)
        let context = try XCTUnwrap(hooks.started.first?.context)
        XCTAssertEqual(context.deploymentID, id)
        XCTAssertEqual(context.phase, "AfterAllowTestTraffic")
        XCTAssertEqual(context.productionURL, "http://127.0.0.1:8080")
        XCTAssertEqual(context.testURL, "http://127.0.0.1:8081")
        XCTAssertEqual(context.targetGroup, "green")
        XCTAssertEqual(context.liveGroup, "blue")
        XCTAssertEqual(forward("test"), ["green=100"])
        XCTAssertEqual(deployment(id)["reason"]?.stringValue, "running hook AfterAllowTestTraffic")
        hooks.finishLatest(.failed(reason: "HTTP 500", outputTail: "validation failed"))
        let record = deployment(id)
        XCTAssertEqual(record["status"]?.stringValue, "RolledBack")
        XCTAssertEqual(record["reason"]?.stringValue, "hook AfterAllowTestTraffic failed: HTTP 500")
        let phase = record["phases"]?.arrayValue?.first { $0["phase"]?.stringValue == "AfterAllowTestTraffic" }
        XCTAssertEqual(phase?["outcome"]?.stringValue, "failed")
        XCTAssertEqual(phase?["output_tail"]?.stringValue, "validation failed")
        XCTAssertEqual(forward("test"), ["blue=100"])
        XCTAssertEqual(forward("production"), ["blue=100"])
    }

    func testStopDuringAHookCancelsItAndLeavesRouting() throws {
        harness.plane.hookRunner = hooks
        let id = try deploy(#"{"target_group": "green", "hooks": {"BeforeAllowTraffic": {"exec": "./smoke.sh"}}}"#)
        XCTAssertEqual(hooks.started.first?.hook.action, .exec(arguments: ["./smoke.sh"]))
        XCTAssertEqual(harness.send("POST", "/v1/deployments/\(id)/stop").json["status"]?.stringValue, "Stopped")
        XCTAssertEqual(hooks.cancelled, [hooks.started[0].context.runID])
        XCTAssertEqual(forward("test"), ["green=100"])
        XCTAssertEqual(forward("production"), ["blue=100"])
    }

    func testReadinessGateWaitsForRoutableTargetsThenTimesOut() throws {
        let directory = StateTestDirectory()
        harness = try ControlPlaneHarness(yaml: ControlPlaneHarness.yaml(
            stateDir: directory.path, greenTargets: "[]"), directory: directory)
        let id = try deploy(#"{"target_group": "green", "readiness": {"timeout": "2s"}}"#)
        XCTAssertEqual(deployment(id)["phase"]?.stringValue, "Readiness")
        harness.clock.advance(milliseconds: 1900)
        XCTAssertEqual(deployment(id)["status"]?.stringValue, "InProgress")
        harness.clock.advance(milliseconds: 200)
        let record = deployment(id)
        XCTAssertEqual(record["status"]?.stringValue, "RolledBack")
        XCTAssertEqual(record["reason"]?.stringValue, "readiness timed out after 2s: 0 of 0 targets healthy")
        XCTAssertEqual(forward("production"), ["blue=100"])
        // Registering targets is the deployment's first routing change.
        let second = try deploy(#"{"target_group": "green", "targets": ["127.0.0.1:3005"]}"#)
        XCTAssertEqual(deployment(second)["status"]?.stringValue, "Succeeded")
        XCTAssertEqual(ControlPlaneHarness.targets(harness.dataPlane.last!.table, "green"), ["127.0.0.1:3005"])
    }

    // MARK: - Restarts

    private var yaml: String { ControlPlaneHarness.yaml(stateDir: harness.directory.path, test: "{ blue: 100 }") }

    func testARestartMidBakeResumesWithTheWaitFromTheStoredTimes() throws {
        let id = try deploy(#"{"target_group": "green", "strategy": "Canary10Percent5Minutes", "test_listener": null}"#)
        harness.clock.advance(milliseconds: 120_000)
        let deadline = deployment(id)["deadline"]
        harness.clock.stepWallClock(by: 60_000)  // the proxy is down for a minute
        harness = try harness.restarted(yaml: yaml)
        XCTAssertEqual(forward("production"), ["blue=90", "green=10"])
        var record = deployment(id)
        XCTAssertEqual(record["status"]?.stringValue, "InProgress")
        XCTAssertEqual(record["deadline"], deadline)
        XCTAssertEqual(record["restarts"]?.arrayValue?.map { $0["outcome"]?.stringValue }, ["resumed"])
        harness.clock.advance(milliseconds: 119_000)
        XCTAssertEqual(forward("production"), ["blue=90", "green=10"])
        harness.clock.advance(milliseconds: 1000)
        XCTAssertEqual(forward("production"), ["green=100"])
        record = deployment(id)
        XCTAssertEqual(record["status"]?.stringValue, "Succeeded")
        XCTAssertEqual(record["steps"]?.arrayValue?.map { $0["weight"]?.intValue }, [10, 100])
        // Finished, it is still there after another restart, and nothing resumes.
        harness = try harness.restarted(yaml: yaml)
        XCTAssertEqual(deployment(id)["status"]?.stringValue, "Succeeded")
        XCTAssertEqual(forward("production"), ["green=100"])
    }

    func testARestartWhileAHookRunsRollsBack() throws {
        harness.plane.hookRunner = hooks
        let id = try deploy(#"{"target_group": "green", "hooks": {"AfterAllowTestTraffic": {"exec": "./validate.sh"}}}"#)
        XCTAssertEqual(forward("test"), ["green=100"])
        harness = try harness.restarted(yaml: yaml)
        let record = deployment(id)
        XCTAssertEqual(record["status"]?.stringValue, "RolledBack")
        XCTAssertEqual(record["reason"]?.stringValue, "the proxy restarted while hook AfterAllowTestTraffic was running")
        XCTAssertEqual(record["restarts"]?.arrayValue?.map { $0["outcome"]?.stringValue }, ["rolled back"])
        XCTAssertEqual(forward("test"), ["blue=100"])
        XCTAssertEqual(forward("production"), ["blue=100"])
    }

    func testAPausedDeploymentStaysPausedWithWhatWasLeft() throws {
        let id = try deploy(#"{"target_group": "green", "strategy": {"canary": {"percent": 30, "wait": "10s"}}}"#)
        harness.clock.advance(milliseconds: 3000)
        harness.send("POST", "/v1/deployments/\(id)/pause")
        harness = try harness.restarted(yaml: yaml)
        XCTAssertEqual(deployment(id)["status"]?.stringValue, "Paused")
        XCTAssertEqual(deployment(id)["paused_remaining_ms"]?.intValue, 7000)
        XCTAssertEqual(harness.send("POST", "/v1/deployments/\(id)/resume").status, 200)
        harness.clock.advance(milliseconds: 7000)
        XCTAssertEqual(deployment(id)["status"]?.stringValue, "Succeeded")
    }
}
