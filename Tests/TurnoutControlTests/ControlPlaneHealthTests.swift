import TurnoutCore
import XCTest
@testable import TurnoutControl

/// Health reaches the data plane as a republish of the same generation with a new `routable`
/// matrix; nothing of it is journalled. Probes are answered by hand on a manual clock.
final class ControlPlaneHealthTests: XCTestCase {
    private var harness: ControlPlaneHarness!
    private let a = "127.0.0.1:3000", b = "127.0.0.1:3001", c = "127.0.0.1:3002"

    /// Checks every second, thresholds 2; blue is fail_open, green fail_closed.
    override func setUpWithError() throws {
        let directory = StateTestDirectory()
        var yaml = ControlPlaneHarness.yaml(stateDir: directory.path, check: "{ interval: 1s, timeout: 500ms }")
        yaml += "\n    on_all_unhealthy: fail_closed"
        harness = try ControlPlaneHarness(yaml: yaml, directory: directory)
    }

    override func tearDown() { harness.directory.remove() }

    /// Lets every target's next probe start (each is due within 1.1 s) and answers it.
    private func probeRound(_ results: [String: ProbeResult]) {
        harness.clock.advance(milliseconds: 1_100)
        for (target, result) in results {
            XCTAssertEqual(harness.prober.answer(HostPort.parse(target)!, with: result), 1, target)
        }
    }

    func testHealthChangesRepublishTheSameGenerationWithTheirRoutability() throws {
        // Checked targets start `initial`, not routable: blue fails open to all, green fails closed.
        XCTAssertEqual(harness.dataPlane.publications.map(\.routable), [[[true, true], [false]]])
        let initial = try XCTUnwrap(harness.dataPlane.last?.table)

        probeRound([a: .passed(status: 200), b: .timedOut, c: .passed(status: 200)])
        XCTAssertEqual(harness.dataPlane.publications.count, 1, "below the thresholds nothing changes")
        probeRound([a: .passed(status: 200), b: .timedOut, c: .passed(status: 200)])

        let publications = harness.dataPlane.publications
        XCTAssertEqual(publications.count, 4, "one republish per change of state")
        XCTAssertTrue(publications.allSatisfy { $0.table === initial }, "the same table, the same generation")
        XCTAssertEqual(publications.last?.routable, [[true, false], [true]])
        XCTAssertEqual(harness.states("blue"), [a: "healthy", b: "unhealthy"])
        XCTAssertEqual(harness.targets("blue")[b]?["reason"], "Target.Timeout")
        XCTAssertEqual(harness.targets("blue")[b]?["routable"], false)
        XCTAssertEqual(try harness.journalRecords(), [])
        XCTAssertEqual(harness.generation, 1)

        probeRound([a: .timedOut, b: .timedOut, c: .codeMismatch(status: 503)])
        probeRound([a: .timedOut, b: .timedOut, c: .codeMismatch(status: 503)])
        XCTAssertEqual(harness.dataPlane.last?.routable, [[true, true], [false]], "fail_open sends to all, fail_closed to none")
        XCTAssertEqual(harness.targets("green")[c]?["routable"], false)
    }

    func testAPassiveEjectionRepublishesUntilTheNextPassingCheck() {
        probeRound([a: .passed(status: 200), b: .passed(status: 200), c: .passed(status: 200)])
        probeRound([a: .passed(status: 200), b: .passed(status: 200), c: .passed(status: 200)])
        XCTAssertEqual(harness.dataPlane.last?.routable, [[true, true], [true]])
        let published = harness.dataPlane.publications.count

        XCTAssertTrue(harness.plane.health.passiveEjection(group: "blue", target: HostPort.parse(a)!))
        XCTAssertEqual(harness.dataPlane.publications.count, published + 1)
        XCTAssertEqual(harness.dataPlane.last?.routable, [[false, true], [true]])
        XCTAssertEqual(harness.targets("blue")[a]?["reason"], "Target.PassiveEjection")

        probeRound([a: .passed(status: 200), b: .passed(status: 200), c: .passed(status: 200)])
        XCTAssertEqual(harness.dataPlane.last?.routable, [[true, true], [true]])
        XCTAssertEqual(harness.generation, 1)
    }

    func testANewTargetIsProbedAndTheHealthOfKeptOnesStays() throws {
        probeRound([a: .passed(status: 200), b: .passed(status: 200), c: .passed(status: 200)])
        probeRound([a: .passed(status: 200), b: .passed(status: 200), c: .passed(status: 200)])

        let added = harness.send("POST", "/v1/target-groups/blue/targets", #"{"targets": ["127.0.0.1:3005"]}"#)
        XCTAssertEqual(added.json["generation"], 2)
        XCTAssertEqual(harness.states("blue"), [a: "healthy", b: "healthy", "127.0.0.1:3005": "initial"])
        XCTAssertEqual(harness.dataPlane.last?.routable, [[true, true, false], [true]])
        harness.clock.advance(milliseconds: 1_100)
        XCTAssertEqual(Set(harness.prober.running.map(\.target.description)), [a, b, c, "127.0.0.1:3005"])
    }

    func testTheStatusShowsTheBoundPortsAndTheMetricsTheHealth() throws {
        harness.dataPlane.boundPorts = ["production": 18080]
        let listeners = harness.send("GET", "/v1/status").json["listeners"]?.arrayValue ?? []
        XCTAssertEqual(listeners.map { $0["port"] }, [18080, 8081], "the bound port; the configured one without")

        probeRound([a: .passed(status: 200), b: .timedOut, c: .passed(status: 200)])
        probeRound([a: .passed(status: 200), b: .timedOut, c: .passed(status: 200)])
        let metrics = String(decoding: harness.plane.handle(AdminRequest(method: "GET", path: "/metrics")).body, as: UTF8.self)
        XCTAssertTrue(metrics.contains(#"turnout_target_health{target_group="blue",target="127.0.0.1:3001",state="unhealthy"} 1"#),
                      metrics)
        XCTAssertTrue(metrics.contains("turnout_routing_generation 1"), metrics)
    }
}
