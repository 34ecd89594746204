import TurnoutCore
import TurnoutMetrics
import XCTest
@testable import TurnoutControl

/// The figures the control plane samples once a second from the registry, as the status and
/// `GET /v1/figures` show them. The workers' counting is done by hand on the plane's registry; the
/// seconds pass on the manual clock.
final class ControlPlaneFiguresTests: XCTestCase {
    private var harness: ControlPlaneHarness!
    private var blue: RouteCounters!
    private var green: RouteCounters!

    override func setUpWithError() throws {
        let directory = StateTestDirectory()
        harness = try ControlPlaneHarness(yaml: ControlPlaneHarness.yaml(stateDir: directory.path), directory: directory)
        blue = harness.plane.metrics.routeCounters(listener: "production", group: "blue", target: "127.0.0.1:3000")
        green = harness.plane.metrics.routeCounters(listener: "test", group: "green", target: "127.0.0.1:3002")
        // 10 ms past the start's baseline sample: every whole second advanced takes one sample, 5 ms before
        // its end.
        harness.clock.advance(milliseconds: 10)
    }

    override func tearDown() { harness.directory.remove() }

    /// `count` responses with `status` taking `milliseconds` each on `counters`.
    private func respond(_ counters: RouteCounters, _ count: Int, status: Int = 200, milliseconds: UInt64 = 2) {
        for _ in 0..<count {
            counters.recordStarted()
            counters.recordResponse(status: status, durationNanoseconds: milliseconds * 1_000_000)
            counters.recordFinished()
        }
    }

    private func figures(of kind: String, _ name: String) -> JSONValue? {
        harness.send("GET", "/v1/status").json["figures"]?[kind]?[name]
    }

    func testTheStatusShowsTheLastTenAndSixtySecondsOfEachListenerAndGroup() throws {
        respond(blue, 30)
        harness.clock.advance(milliseconds: 1_000)
        respond(blue, 8)
        respond(blue, 2, status: 503, milliseconds: 40)
        for _ in 0..<2 { blue.recordStarted() }
        harness.clock.advance(milliseconds: 1_000)

        let blueFigures = try XCTUnwrap(figures(of: "target_groups", "blue"))
        XCTAssertEqual(blueFigures["10s"], [
            "seconds": 2, "requests": 40, "request_rate": 20, "responses_5xx": 2, "proxy_errors": 0,
            "error_rate_5xx": 0.05, "connect_errors": 0, "p50_ms": 1.789, "p99_ms": 45, "in_flight": 2,
        ])
        XCTAssertEqual(blueFigures["60s"], blueFigures["10s"], "two seconds of figures so far")
        XCTAssertEqual(figures(of: "listeners", "production")?["10s"]?["requests"], 40)
        XCTAssertEqual(figures(of: "target_groups", "green")?["10s"], [
            "seconds": 2, "requests": 0, "request_rate": 0, "responses_5xx": 0, "proxy_errors": 0,
            "error_rate_5xx": nil, "connect_errors": 0, "p50_ms": nil, "p99_ms": nil, "in_flight": 0,
        ])

        harness.clock.advance(milliseconds: 10_000)
        XCTAssertEqual(figures(of: "target_groups", "blue")?["10s"]?["requests"], 0, "ten quiet seconds")
        XCTAssertEqual(figures(of: "target_groups", "blue")?["60s"]?["requests"], 40)
        XCTAssertEqual(figures(of: "target_groups", "blue")?["60s"]?["seconds"], 12)
    }

    func testTheSeriesIsOneColumnPerFigureOldestFirst() throws {
        respond(green, 4)
        harness.clock.advance(milliseconds: 1_000)
        respond(green, 1, status: 500, milliseconds: 300)
        green.recordConnectError()
        harness.clock.advance(milliseconds: 1_000)
        harness.clock.advance(milliseconds: 1_000)

        let answer = harness.send("GET", "/v1/figures?group=green&seconds=900")
        XCTAssertEqual(answer.status, 200)
        XCTAssertEqual(answer.json, [
            "group": "green", "listener": nil, "seconds": 3,
            "end_ms": .int(Int64(harness.clock.wallMilliseconds - 5)),  // the latest sample, 5 ms ago
            "requests": [4, 1, 0], "responses_5xx": [0, 1, 0], "proxy_errors": [0, 0, 0], "connect_errors": [0, 1, 0],
            "in_flight": [0, 0, 0], "p50_ms": [1.75, 375, nil], "p99_ms": [2.485, 497.5, nil],
            "window": [
                "seconds": 3, "requests": 5, "request_rate": 1.667, "responses_5xx": 1, "proxy_errors": 0,
                "error_rate_5xx": 0.2, "connect_errors": 1, "p50_ms": 1.938, "p99_ms": 487.5, "in_flight": 0,
            ],
        ])
        let pair = harness.send("GET", "/v1/figures?group=green&listener=test&seconds=2").json
        XCTAssertEqual(pair["requests"], [1, 0])
        XCTAssertEqual(harness.send("GET", "/v1/figures?listener=production&seconds=1").json["requests"], [0])
    }

    func testABadFiguresQueryIsRefusedNamingWhatIsWrong() {
        XCTAssertEqual(harness.send("GET", "/v1/figures").errorCode, "bad_request")
        XCTAssertEqual(harness.send("GET", "/v1/figures?group=green&seconds=901").errorCode, "bad_request")
        XCTAssertEqual(harness.send("GET", "/v1/figures?group=green&seconds=0").errorCode, "bad_request")
        XCTAssertEqual(harness.send("GET", "/v1/figures?group=green&second=5").errorCode, "bad_request")
        XCTAssertEqual(harness.send("GET", "/v1/figures?group=purple").status, 404)
        XCTAssertEqual(harness.send("GET", "/v1/figures?listener=canary").status, 404)
        XCTAssertEqual(harness.send("POST", "/v1/figures?group=green", "{}").status, 405)
    }
}
