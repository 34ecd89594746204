import TurnoutCore
import XCTest
@testable import TurnoutControl

/// What the control plane tells the event stream: every acknowledged routing change, target registration,
/// drain start and end, and health transition, in order, each with its generation.
final class ControlPlaneEventsTests: XCTestCase {
    private var harness: ControlPlaneHarness!
    private let a = "127.0.0.1:3000", b = "127.0.0.1:3001", c = "127.0.0.1:3002"

    override func setUpWithError() throws {
        let directory = StateTestDirectory()
        harness = try ControlPlaneHarness(yaml: ControlPlaneHarness.yaml(stateDir: directory.path), directory: directory)
    }

    override func tearDown() {
        harness.directory.remove()
        // XCTest keeps every test case object until the process exits: let go of the plane and its timers now.
        harness = nil
        super.tearDown()
    }

    /// The events published after `count` earlier ones, without `id` and `time`.
    private func events(after count: Int = 0) -> [JSONValue] {
        let log = harness.plane.events.log
        guard let oldest = log.oldestID else { return [] }
        return (oldest...log.newestID).dropFirst(count).compactMap { log.event($0) }.map { event in
            guard case .object(var members) = event.data else { return event.data }
            members["id"] = nil
            members["time"] = nil
            return .object(members)
        }
    }

    func testTheFirstIdIsTheStartTimeInMicroseconds() {
        XCTAssertEqual(harness.plane.events.log.nextID, 1_795_701_600_000 * 1000)
    }

    func testASwitchIsOneRoutingEventAndTheGroupItLeftStartsDraining() {
        harness.send("POST", "/v1/switch", #"{"to": "green"}"#)
        XCTAssertEqual(events(), [
            ["kind": "routing", "generation": 2, "generation_before": 1, "generation_after": 2, "action": "switch",
             "caller": "127.0.0.1", "audit_id": 1, "report": "/v1/reports/2",
             "diff": ["listeners": ["production": ["before": ["blue": 100], "after": ["green": 100]]]]],
            ["kind": "target.drain_started", "generation": 2, "group": "blue", "target": .string(a),
             "cause": "group_unweighted", "until": "2026-11-26T14:00:30.000Z"],
            ["kind": "target.drain_started", "generation": 2, "group": "blue", "target": .string(b),
             "cause": "group_unweighted", "until": "2026-11-26T14:00:30.000Z"],
        ])
        harness.clock.advance(milliseconds: 1_000)
        XCTAssertEqual(events(after: 3), [
            ["kind": "report.settled", "generation": 2, "report_generation": 2, "report": "/v1/reports/2", "totals": [
                "departing_in_flight_at_cutover": 0, "responses_5xx": 0, "proxy_errors": 0, "connect_errors": 0,
                "longest_drain_ms": 0.0, "undrained_moves": 0, "unsettled_moves": 0,
            ]],
        ], "the switch's report settles after a second: nothing was in flight")
        harness.clock.advance(milliseconds: 28_999)
        XCTAssertEqual(events(after: 4), [])
        harness.clock.advance(milliseconds: 1)
        XCTAssertEqual(events(after: 4), [
            ["kind": "target.drain_ended", "generation": 2, "group": "blue", "target": .string(a), "cause": "group_unweighted"],
            ["kind": "target.drain_ended", "generation": 2, "group": "blue", "target": .string(b), "cause": "group_unweighted"],
        ])
    }

    func testAGroupThatGetsWeightBackBeforeItsDrainEndsHasNoDrainEnd() {
        harness.send("POST", "/v1/switch", #"{"to": "green"}"#)
        harness.send("POST", "/v1/switch", #"{"to": "blue"}"#)
        harness.clock.advance(milliseconds: 60_000)
        XCTAssertEqual(events().compactMap { $0["kind"]?.stringValue },
                       ["routing", "target.drain_started", "target.drain_started", "report.settled", "routing", "report.settled"],
                       "blue got its weight back within its drain; green keeps the test listener's weight")
    }

    func testRegistrationAndDeregistrationAreEventsAndTheDrainEndsWithItsDelay() {
        harness.send("POST", "/v1/target-groups/green/targets", #"{"targets": ["127.0.0.1:3005"]}"#)
        harness.send("DELETE", "/v1/target-groups/green/targets/\(c)")
        XCTAssertEqual(events().filter { $0["kind"] != "routing" }, [
            ["kind": "target.registered", "generation": 2, "group": "green", "target": "127.0.0.1:3005"],
            ["kind": "target.drain_started", "generation": 3, "group": "green", "target": .string(c),
             "cause": "deregistered", "until": "2026-11-26T14:00:30.000Z"],
        ])
        harness.clock.advance(milliseconds: 30_000)
        XCTAssertEqual(events(after: 4), [
            ["kind": "target.drain_ended", "generation": 3, "group": "green", "target": .string(c), "cause": "deregistered"],
        ])
    }

    func testAChangeThatIsRefusedOrChangesNothingIsNoEvent() {
        harness.send("POST", "/v1/switch", #"{"to": "blue"}"#)
        harness.send("POST", "/v1/switch", #"{"to": "purple"}"#)
        harness.send("POST", "/v1/switch?dry_run=true", #"{"to": "green"}"#)
        XCTAssertEqual(events(), [])
    }
}

/// Health transitions, on a plane whose groups are checked.
final class ControlPlaneHealthEventsTests: XCTestCase {
    func testAHealthTransitionIsAnEventWithItsReason() throws {
        let directory = StateTestDirectory()
        defer { directory.remove() }
        let harness = try ControlPlaneHarness(
            yaml: ControlPlaneHarness.yaml(stateDir: directory.path, check: "{ interval: 1s, timeout: 500ms }"),
            directory: directory)
        let before = harness.plane.events.log.nextID
        for _ in 0..<2 {
            harness.clock.advance(milliseconds: 1_100)
            harness.prober.answer(HostPort.parse("127.0.0.1:3002")!, with: .codeMismatch(status: 503))
        }
        let event = try XCTUnwrap(harness.plane.events.log.event(before))
        XCTAssertEqual(event.kind, .health)
        XCTAssertEqual(event.generation, 1)
        XCTAssertEqual(event.data["group"], "green")
        XCTAssertEqual(event.data["target"], "127.0.0.1:3002")
        XCTAssertEqual(event.data["from"], "initial")
        XCTAssertEqual(event.data["to"], "unhealthy")
        XCTAssertEqual(event.data["reason"], "Target.ResponseCodeMismatch")
        XCTAssertEqual(event.data["description"], .string("Health checks failed with these codes: [503]"))
    }
}
