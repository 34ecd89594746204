import TurnoutCore
import TurnoutMetrics
import XCTest
@testable import TurnoutControl

/// `GET /v1/reports` and `GET /v1/reports/{generation}`, and the audit's links to them, through the admin
/// API of a plane on a manual clock.
final class ControlPlaneReportsTests: XCTestCase {
    private var harness: ControlPlaneHarness!

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

    func testASwitchsReportAsTheAPIShowsIt() throws {
        let blue = harness.plane.metrics.routeCounters(listener: "production", group: "blue", target: "127.0.0.1:3000")
        blue.recordStarted()
        harness.send("POST", "/v1/switch", #"{"to": "green"}"#)
        harness.clock.advance(milliseconds: 25)
        blue.recordResponse(status: 200, durationNanoseconds: 3_000_000)
        blue.recordFinished()
        harness.clock.advance(milliseconds: 1_000)

        let answer = harness.send("GET", "/v1/reports/2")
        XCTAssertEqual(answer.status, 200)
        let nothing: JSONValue = [
            "requests": 0, "request_rate": 0, "responses_5xx": 0, "proxy_errors": 0, "error_rate_5xx": nil,
            "connect_errors": 0, "p50_ms": nil, "p99_ms": nil, "seconds": 0, "in_flight": 0,
        ]
        XCTAssertEqual(answer.json, [
            "generation": 2, "previous_generation": 1, "action": "switch", "caller": "127.0.0.1", "audit_id": 1,
            "time": "2026-11-26T14:00:00.000Z", "settled": true,
            "totals": ["departing_in_flight_at_cutover": 1, "responses_5xx": 0, "proxy_errors": 0, "connect_errors": 0,
                       "longest_drain_ms": 30, "undrained_moves": 0, "unsettled_moves": 0],
            "moves": [[
                "listener": "production", "rule": nil, "before": ["blue": 100], "after": ["green": 100],
                "departing": ["blue"], "in_flight_at_cutover": ["blue": 1, "green": 0],
                "drain": ["state": "drained", "milliseconds": 30, "resolution_ms": 10, "in_flight_left": 0],
                "errors": ["milliseconds": 1000, "requests": 1, "responses_5xx": 0, "proxy_errors": 0, "connect_errors": 0,
                           "groups": ["blue": ["requests": 1, "responses_5xx": 0, "proxy_errors": 0, "connect_errors": 0],
                                      "green": ["requests": 0, "responses_5xx": 0, "proxy_errors": 0, "connect_errors": 0]]],
                "figures_before": ["seconds": 0, "groups": ["blue": nothing, "green": nothing]],
                "figures_after": ["seconds": 1.025, "ended_by": nil, "groups": [
                    "blue": ["requests": 1, "request_rate": 0.976, "responses_5xx": 0, "proxy_errors": 0, "error_rate_5xx": 0,
                             "connect_errors": 0, "p50_ms": 3.75, "p99_ms": 4.975, "seconds": 1.025],
                    "green": ["requests": 0, "request_rate": 0, "responses_5xx": 0, "proxy_errors": 0, "error_rate_5xx": nil,
                              "connect_errors": 0, "p50_ms": nil, "p99_ms": nil, "seconds": 1.025],
                ]],
            ]],
        ])
        XCTAssertEqual(harness.auditEntries.map { $0["report"] }, ["/v1/reports/2"])
    }

    func testTheListIsNewestFirstAndChangesThatMoveNoTrafficHaveNone() {
        harness.send("POST", "/v1/switch", #"{"to": "green"}"#)
        harness.send("POST", "/v1/target-groups/green/targets", #"{"targets": ["127.0.0.1:3009"]}"#)
        harness.send("PUT", "/v1/listeners/production/forward", #"{"blue": 50, "green": 50}"#)
        XCTAssertEqual(harness.send("GET", "/v1/reports").json["reports"]?.arrayValue?.map { $0["generation"] }, [4, 2])
        XCTAssertEqual(harness.send("GET", "/v1/reports?limit=1").json["reports"]?.arrayValue?.count, 1)
        XCTAssertEqual(harness.auditEntries.map { $0["report"] }, ["/v1/reports/2", .null, "/v1/reports/4"])
        XCTAssertEqual(harness.send("GET", "/v1/reports/3").errorCode, "not_found")
        XCTAssertEqual(harness.send("GET", "/v1/reports/latest").errorCode, "bad_request")
        XCTAssertEqual(harness.send("GET", "/v1/reports?limit=101").errorCode, "bad_request")
    }

    func testTheAuditsLinkSurvivesARestartThoughReportsLiveInMemory() throws {
        harness.send("POST", "/v1/switch", #"{"to": "green"}"#)
        let yaml = ControlPlaneHarness.yaml(stateDir: harness.directory.path)
        let restarted = try harness.restarted(yaml: yaml)
        XCTAssertEqual(restarted.auditEntries, harness.auditEntries)
        XCTAssertEqual(restarted.auditEntries.map { $0["report"] }, ["/v1/reports/2"])
        XCTAssertEqual(restarted.send("GET", "/v1/reports/2").status, 404)
    }
}
