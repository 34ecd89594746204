import Glibc
import TurnoutCore
import XCTest
@testable import TurnoutControl

/// Draining on a manual clock: a deregistered target drains for its group's deregistration delay
/// (30 s here) and the end is journalled; a group that lost its weight drains, then is unused.
final class ControlPlaneDrainTests: XCTestCase {
    private var harness: ControlPlaneHarness!
    private let a = "127.0.0.1:3000", b = "127.0.0.1:3001"
    private let deadline: UInt64 = 1_795_701_600_000 + 30_000

    override func setUpWithError() throws {
        let directory = StateTestDirectory()
        harness = try ControlPlaneHarness(yaml: ControlPlaneHarness.yaml(stateDir: directory.path), directory: directory)
    }

    override func tearDown() { harness.directory.remove() }

    func testADeregisteredTargetDrainsForItsDelayAndTheEndIsJournalled() throws {
        let answer = harness.send("DELETE", "/v1/target-groups/blue/targets/\(b)")
        XCTAssertEqual(answer.status, 200)
        XCTAssertEqual(answer.json["generation"], 2)
        XCTAssertEqual(ControlPlaneHarness.targets(harness.dataPlane.last!.table, "blue"), [a], "no new request goes to it")
        XCTAssertEqual(harness.targets("blue")[b], [
            "target": .string(b), "name": .null, "state": "draining", "reason": "Target.DeregistrationInProgress",
            "description": "deregistered; connections close at the deregistration delay", "routable": false,
            "drain_until": "2026-11-26T14:00:30.000Z",
        ])
        XCTAssertEqual(try harness.journalRecords().map(\.draining), [[PersistedDrain(group: "blue", target: b, until: deadline)]])

        harness.clock.advance(milliseconds: 29_999)
        XCTAssertEqual(harness.states("blue")[b], "draining")
        XCTAssertEqual(try harness.journalRecords().count, 1)

        harness.clock.advance(milliseconds: 1)
        XCTAssertNil(harness.targets("blue")[b])
        let records = try harness.journalRecords()
        XCTAssertEqual(records.count, 2, "the end of the drain is saved, so a restart does not bring it back")
        XCTAssertEqual(records.last?.generation, 2, "not a routing change: no generation")
        XCTAssertEqual(records.last?.draining, [])
        XCTAssertNil(records.last?.audit)
        XCTAssertEqual(harness.dataPlane.publications.count, 2, "nothing to publish: the target already got no requests")
        XCTAssertTrue(harness.log.all.contains { $0.message == "target \(b) in blue: draining done" })
    }

    func testRegisteringADrainingTargetAgainEndsItsDrain() throws {
        harness.send("DELETE", "/v1/target-groups/blue/targets/\(b)")
        let again = harness.send("POST", "/v1/target-groups/blue/targets", #"{"targets": ["\#(b)"]}"#)
        XCTAssertEqual(again.json["generation"], 3)
        XCTAssertEqual(harness.states("blue"), [a: "initial", b: "initial"])
        XCTAssertEqual(try harness.journalRecords().map(\.draining), [[PersistedDrain(group: "blue", target: b, until: deadline)], []])

        harness.clock.advance(milliseconds: 30_000)
        XCTAssertEqual(try harness.journalRecords().count, 2, "no drain left to end")
    }

    func testAGroupThatLostItsWeightDrainsForItsDelayThenIsUnused() throws {
        XCTAssertEqual(harness.send("PUT", "/v1/listeners/production/forward", #"{"green": 100}"#).json["generation"], 2)
        for target in harness.targets("blue").values {
            XCTAssertEqual(target["state"], "draining")
            XCTAssertEqual(target["reason"], "Target.DeregistrationInProgress")
            XCTAssertEqual(target["description"], "target group lost its weight; draining")
            XCTAssertEqual(target["routable"], false)
            XCTAssertEqual(target["drain_until"], "2026-11-26T14:00:30.000Z")
        }
        harness.clock.advance(milliseconds: 29_999)
        XCTAssertEqual(harness.states("blue"), [a: "draining", b: "draining"])
        harness.clock.advance(milliseconds: 1)
        XCTAssertEqual(harness.states("blue"), [a: "unused", b: "unused"])
        XCTAssertEqual(harness.targets("blue")[a]?["reason"], "Target.NotInUse")
        XCTAssertNil(harness.targets("blue")[a]?["drain_until"], "only a draining target has an end")

        harness.send("PUT", "/v1/listeners/production/forward", #"{"blue": 100}"#)
        XCTAssertEqual(harness.states("blue"), [a: "initial", b: "initial"])
        XCTAssertEqual(harness.targets("blue")[a]?["routable"], true)
    }

    func testSwitchingBackWithinTheDelayEndsTheGroupsDrain() {
        harness.send("PUT", "/v1/listeners/production/forward", #"{"green": 100}"#)
        harness.clock.advance(milliseconds: 10_000)
        harness.send("PUT", "/v1/listeners/production/forward", #"{"blue": 100}"#)
        XCTAssertEqual(harness.states("blue"), [a: "initial", b: "initial"])
        XCTAssertEqual(harness.states("green"), ["127.0.0.1:3002": "initial"], "green still has the test listener's weight")
    }

    func testARefusedDeregistrationLeavesNoDrain() throws {
        harness.files.inject(.fail(ENOSPC), into: .write)
        XCTAssertEqual(harness.send("DELETE", "/v1/target-groups/blue/targets/\(b)").status, 503)
        XCTAssertEqual(harness.states("blue"), [a: "initial", b: "initial"])
        harness.clock.advance(milliseconds: 30_000)
        XCTAssertEqual(try harness.journalRecords(), [])
        XCTAssertEqual(harness.dataPlane.publications.count, 1)
    }
}
