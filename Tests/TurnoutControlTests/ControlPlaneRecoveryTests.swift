import TurnoutCore
import XCTest
@testable import TurnoutControl

/// A restart on the same state directory: the saved routing applies over the configuration file,
/// drains still running resume with their deadline, the audit log and idempotency records come back,
/// and `start` publishes the restored table and compacts.
final class ControlPlaneRecoveryTests: XCTestCase {
    private var directory: StateTestDirectory!
    private var yaml: String { ControlPlaneHarness.yaml(stateDir: directory.path) }
    private let a = "127.0.0.1:3000", b = "127.0.0.1:3001"

    override func setUp() { directory = StateTestDirectory() }

    override func tearDown() { directory.remove() }

    func testARestartRestoresRoutingDrainsAuditAndIdempotencyOverTheConfiguration() throws {
        let first = try ControlPlaneHarness(yaml: yaml, directory: directory)
        let switched = first.send("POST", "/v1/switch", #"{"to": "green"}"#, headers: ["Idempotency-Key": "k1"])
        first.send("DELETE", "/v1/target-groups/blue/targets/\(b)")
        first.send("POST", "/v1/target-groups/green/targets", #"{"targets": ["127.0.0.1:3005"]}"#)
        first.clock.advance(milliseconds: 10_000)

        let second = try first.restarted(yaml: yaml)
        XCTAssertEqual(second.recovered.replayed, 3)
        XCTAssertNil(second.recovered.damage)
        let published = try XCTUnwrap(second.dataPlane.last)
        XCTAssertEqual(second.dataPlane.publications.count, 1)
        XCTAssertEqual(published.table.generation, 4)
        XCTAssertEqual(ControlPlaneHarness.forward(published.table, "production"), ["green=100"])
        XCTAssertEqual(ControlPlaneHarness.targets(published.table, "blue"), [a])
        XCTAssertEqual(ControlPlaneHarness.targets(published.table, "green"), ["127.0.0.1:3002", "127.0.0.1:3005"])
        XCTAssertEqual(try second.journalRecords(), [], "start compacted: the snapshot holds everything")

        XCTAssertEqual(second.states("blue"), [a: "unused", b: "draining"])
        XCTAssertEqual(second.auditEntries.map { $0["action"] }, ["switch", "targets.deregister", "targets.register"])
        let replay = second.send("POST", "/v1/switch", #"{"to": "green"}"#, headers: ["Idempotency-Key": "k1"])
        XCTAssertEqual(replay.header("Idempotent-Replayed"), "true")
        XCTAssertEqual(replay.json, switched.json)

        second.clock.advance(milliseconds: 19_999)
        XCTAssertEqual(second.states("blue")[b], "draining", "the deadline is the one saved, not 30 s from the restart")
        second.clock.advance(milliseconds: 1)
        XCTAssertNil(second.states("blue")[b])
        XCTAssertEqual(try second.journalRecords().map(\.draining), [[]])
    }

    func testADrainThatEndedWhileStoppedIsNotRestored() throws {
        let first = try ControlPlaneHarness(yaml: yaml, directory: directory)
        first.send("DELETE", "/v1/target-groups/blue/targets/\(b)")
        first.clock.stepWallClock(by: 31_000)

        let second = try first.restarted(yaml: yaml)
        XCTAssertEqual(second.states("blue"), [a: "initial"])
        XCTAssertEqual(second.clock.pendingDeadlines, [2_000_000_000 + ControlPlane.figureSampleOffset],
                       "no drain timer: only the figures' next sample is due")
    }

    func testSavedRoutingForAListenerTheFileNoLongerHasIsIgnored() throws {
        let canary = "  canary: { bind: 127.0.0.1:8082, forward: { green: 100 } }"
        let first = try ControlPlaneHarness(
            yaml: ControlPlaneHarness.yaml(stateDir: directory.path, extraListener: canary), directory: directory)
        first.send("PUT", "/v1/listeners/canary/forward", #"{"blue": 100}"#)
        first.send("PUT", "/v1/listeners/test/forward", #"{"blue": 100}"#)

        let second = try first.restarted(yaml: yaml)
        let table = try XCTUnwrap(second.dataPlane.last?.table)
        XCTAssertEqual(table.generation, 3)
        XCTAssertEqual(table.listeners.map(\.name), ["production", "test"])
        XCTAssertEqual(ControlPlaneHarness.forward(table, "test"), ["blue=100"])
        XCTAssertTrue(second.log.all.contains {
            $0.level == .warning && $0.message == "saved state names listener 'canary', which the configuration no longer has; ignored"
        })
    }

    /// A journal written when weights were relative shares: each forward comes back as the percentages it
    /// made, with a warning; the snapshot written at start holds the percentages, so the next start is quiet.
    func testSavedRelativeWeightsComeBackAsPercentages() throws {
        let journal = StateJournal(directory: directory.path, logger: CapturedLog().logger)
        try journal.open()
        try journal.append(JournalRecord(
            sequence: 1, generation: 6,
            listeners: ["production": [PersistedWeight(group: "blue", weight: 3), PersistedWeight(group: "green", weight: 1)],
                        "test": [PersistedWeight(group: "blue", weight: 1), PersistedWeight(group: "green", weight: 999)]],
            targetGroups: [:], draining: [], audit: nil, idempotency: nil))

        let restored = try ControlPlaneHarness(yaml: yaml, directory: directory)
        let table = try XCTUnwrap(restored.dataPlane.last?.table)
        XCTAssertEqual(table.generation, 6)
        XCTAssertEqual(ControlPlaneHarness.forward(table, "production"), ["blue=75", "green=25"])
        XCTAssertEqual(ControlPlaneHarness.forward(table, "test"), ["blue=1", "green=99"], "a group with traffic keeps some")
        let warnings = restored.log.all.filter { $0.level == .warning }.map(\.message)
        XCTAssertEqual(warnings, [
            "saved forward of 'production' is blue=3 green=1, which adds up to 4: weights are percentages now, "
                + "so it is restored in proportion as blue=75 green=25",
            "saved forward of 'test' is blue=1 green=999, which adds up to 1000: weights are percentages now, "
                + "so it is restored in proportion as blue=1 green=99",
        ])
        guard case .loaded(let snapshot) = directory.store().load() else { return XCTFail("no snapshot after start") }
        XCTAssertEqual(snapshot.listeners["production"],
                       [PersistedWeight(group: "blue", weight: 75), PersistedWeight(group: "green", weight: 25)])

        // Percentages from here on: a change names them, and the next start has nothing to convert.
        XCTAssertEqual(restored.send("PUT", "/v1/listeners/production/forward", #"{"blue": 50, "green": 50}"#).status, 200)
        let again = try restored.restarted(yaml: yaml)
        XCTAssertEqual(ControlPlaneHarness.forward(try XCTUnwrap(again.dataPlane.last?.table), "production"), ["blue=50", "green=50"])
        XCTAssertEqual(again.log.all.filter { $0.level == .warning }, [])
    }
}
