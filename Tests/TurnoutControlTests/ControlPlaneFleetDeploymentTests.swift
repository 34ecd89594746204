import TurnoutCore
import XCTest

@testable import TurnoutControl

/// Deployments over a fleet's store, with a scripted store in etcd's place: the instance that takes a deployment holds
/// the listener's runner lock and writes every step to the store; a lock held by another instance refuses it; a
/// runner that lost its lock, or whose change the store refused, stops without rolling back, and the instance that
/// holds the lock then carries the deployment on from the store's record, as a restart does.
final class ControlPlaneFleetDeploymentTests: XCTestCase {
    private var harness: ControlPlaneHarness!
    private let store = ScriptedSharedStore()
    private let other = RunnerLock(instance: "other:9901", address: "10.0.0.2:9901", createRevision: 7)
    private let canary = #"{"target_group": "green", "test_listener": null, "strategy": {"canary": {"percent": 10, "wait": "60s"}}}"#

    override func setUpWithError() throws {
        let directory = StateTestDirectory()
        harness = try ControlPlaneHarness(yaml: ControlPlaneHarness.yaml(stateDir: directory.path), directory: directory,
                                          store: { [store] _ in store })
    }

    override func tearDown() {
        harness.directory.remove()
        harness = nil
        super.tearDown()
    }

    private func deploy() throws -> String {
        let answer = harness.send("POST", "/v1/deployments", canary)
        XCTAssertEqual(answer.status, 201, "\(answer.json)")
        return try XCTUnwrap(answer.json["id"]?.stringValue)
    }

    private func deployment(_ id: String) -> JSONValue { harness.send("GET", "/v1/deployments/\(id)").json }

    /// The status of deployment `id` in the last record the store took.
    private var storedStatuses: [String] {
        (store.appended.last?.deployment?.arrayValue ?? []).compactMap { $0["status"]?.stringValue }
    }

    func testTheInstanceTakingADeploymentHoldsTheListenersLockAndWritesEveryStep() throws {
        let id = try deploy()
        XCTAssertEqual(store.heldLocks.keys.sorted(), ["production"])
        XCTAssertEqual(storedStatuses, ["InProgress"])
        harness.clock.advance(milliseconds: 60_000)
        XCTAssertEqual(deployment(id)["status"], "Succeeded")
        XCTAssertEqual(storedStatuses, ["Succeeded"])
        XCTAssertEqual(store.heldLocks, [:], "the lock goes with the deployment's end")
        XCTAssertEqual(store.locks, [:])
    }

    func testALockHeldByAnotherInstanceRefusesTheDeploymentNamingWhereItRuns() {
        store.locks["production"] = other
        let refused = harness.send("POST", "/v1/deployments", canary)
        XCTAssertEqual(refused.status, 409)
        XCTAssertEqual(refused.errorCode, "conflict")
        XCTAssertTrue(refused.json["error"]?["message"]?.stringValue?.contains("10.0.0.2:9901") == true, "\(refused.json)")
        XCTAssertEqual(store.appended, [], "nothing started")
    }

    func testARunnerThatLostItsLockStopsAndTheOneHoldingItGoesOnFromTheRecord() throws {
        let id = try deploy()
        let written = store.appended.count
        // Its lease lapsed (a paused process): another instance holds the lock now.
        store.heldLocks = [:]
        store.locks["production"] = other
        harness.plane.fleetRunnersChanged()
        harness.clock.advance(milliseconds: 60_000)
        XCTAssertEqual(store.appended.count, written, "a runner without its lock writes nothing")
        XCTAssertEqual(deployment(id)["status"], "InProgress", "followed as the store last took it")
        let action = harness.send("POST", "/v1/deployments/\(id)/promote", "{}")
        XCTAssertEqual(action.status, 409)
        XCTAssertTrue(action.json["error"]?["message"]?.stringValue?.contains("10.0.0.2:9901") == true, "\(action.json)")

        // That instance died in turn: its lock went, and this one takes the deployment over.
        store.locks["production"] = nil
        harness.plane.fleetRunnersChanged()
        XCTAssertNotNil(store.heldLocks["production"])
        XCTAssertEqual(deployment(id)["restarts"]?.arrayValue?.map { $0["outcome"] }, ["resumed"])
        harness.clock.advance(milliseconds: 1)
        XCTAssertEqual(deployment(id)["status"], "Succeeded", "its bake's deadline had passed")
        XCTAssertEqual(deployment(id)["steps"]?.arrayValue?.map { $0["weight"] }, [10, 100])
        XCTAssertEqual(storedStatuses, ["Succeeded"])
    }

    func testAStepTheStoreRefusesStopsTheRunnerWithoutRollingBackAndItResumesOnceTheStoreTakesChanges() throws {
        let id = try deploy()
        store.failure = .conflict("the shared state changed through another instance")
        harness.clock.advance(milliseconds: 60_000)
        XCTAssertEqual(deployment(id)["status"], "InProgress", "no rollback for a change the store did not take")
        XCTAssertEqual(storedStatuses, ["InProgress"])
        XCTAssertNotNil(store.heldLocks["production"], "the lock is still this instance's")

        store.failure = nil
        harness.plane.fleetRunnersChanged()
        harness.clock.advance(milliseconds: 1)
        XCTAssertEqual(deployment(id)["status"], "Succeeded")
        XCTAssertEqual(deployment(id)["steps"]?.arrayValue?.map { $0["weight"] }, [10, 100])
    }

    func testADeploymentAnotherInstanceRunsIsFollowedFromItsRecordAndRefusesASecond() throws {
        // This instance's own run written to the store, then read back as another instance's record.
        let id = try deploy()
        let record = try XCTUnwrap(store.appended.last)
        store.heldLocks = [:]
        store.locks["production"] = other
        harness.plane.fleetRunnersChanged()
        var adopted = record
        adopted.sequence += 1
        harness.plane.adoptShared(.record(adopted))
        XCTAssertEqual(deployment(id)["status"], "InProgress")
        let second = harness.send("POST", "/v1/deployments", canary)
        XCTAssertEqual(second.status, 409)
        XCTAssertTrue(second.json["error"]?["message"]?.stringValue?.contains(id) == true, "\(second.json)")
        XCTAssertEqual(harness.send("POST", "/v1/switch", #"{"to": "green"}"#).status, 409, "the listener is the deployment's")
    }

    func testAStartTheStoreRefusesStartsNothingAndLetsTheLockGo() {
        store.failure = .conflict("the shared state changed through another instance")
        let refused = harness.send("POST", "/v1/deployments", canary)
        XCTAssertEqual(refused.status, 409, "\(refused.json)")
        XCTAssertEqual(refused.errorCode, "stale_generation")
        XCTAssertEqual(store.heldLocks, [:])
        XCTAssertEqual(harness.send("GET", "/v1/deployments").json["deployments"], [])
        store.failure = nil
        XCTAssertEqual(harness.send("POST", "/v1/deployments", canary).status, 201)
    }

    func testMayTakeOverAFreeLockOrItsOwnButNotAnothers() {
        XCTAssertTrue(DeploymentRunner.mayTakeOver(listener: "production", runner: nil, held: [:]))
        XCTAssertFalse(DeploymentRunner.mayTakeOver(listener: "production", runner: other, held: [:]))
        XCTAssertTrue(DeploymentRunner.mayTakeOver(listener: "production", runner: other, held: ["production": 7]))
        XCTAssertFalse(DeploymentRunner.mayTakeOver(listener: "production", runner: other, held: ["production": 3]),
                       "a lock taken again by another instance after this one's lapsed")
    }
}
