import Foundation
@testable import TurnoutControl
import TurnoutCore
import TurnoutPosix
import XCTest

/// `http` hooks run by the real `HookRunner` on a control loop against a real HTTP server on loopback.
final class HTTPHookTests: XCTestCase {
    private var harness: HookRunnerHarness!
    private var servers: [LoopbackHTTPServer] = []

    override func setUpWithError() throws {
        harness = try HookRunnerHarness()
    }

    override func tearDown() {
        harness.stop()
        harness = nil
        for server in servers { server.stop() }
        servers.removeAll()
        super.tearDown()
    }

    private func server(_ behavior: LoopbackHTTPServer.Behavior) throws -> LoopbackHTTPServer {
        let server = try LoopbackHTTPServer(behavior)
        servers.append(server)
        return server
    }

    private func hook(_ port: UInt16, path: String = "/validate", timeoutMilliseconds: UInt64 = 5_000) -> HookSpec {
        HookSpec(action: .http(url: "http://127.0.0.1:\(port)\(path)"), timeout: .milliseconds(timeoutMilliseconds))
    }

    func test2xxPassesAndThePOSTCarriesTheDeployment() throws {
        let endpoint = try server(.responses(["HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nvalidated"]))
        let run = harness.start(hook(endpoint.port), context: hookContext(phase: "AfterAllowTestTraffic"))
        XCTAssertEqual(run.wait(seconds: 5), .passed(outputTail: "validated"))
        XCTAssertTrue(run.wasReportedOnLoop)

        let request = try XCTUnwrap(endpoint.received.first)
        XCTAssertEqual(endpoint.received.count, 1)
        let body = Array(request.body.utf8)
        XCTAssertEqual(request.head, """
            POST /validate HTTP/1.1\r
            Host: 127.0.0.1:\(endpoint.port)\r
            User-Agent: turnout-hook\r
            Content-Type: application/json\r
            Content-Length: \(body.count)\r
            Connection: close\r
            \r

            """)
        XCTAssertEqual(try JSONReader.parse(body), [
            "deployment_id": "d-1", "phase": "AfterAllowTestTraffic", "listener": "production",
            "production_url": "http://127.0.0.1:9090", "test_listener": "test", "test_url": "http://127.0.0.1:9091",
            "target_group": "green", "live_group": "blue",
        ])
        XCTAssertTrue(harness.waitUntil { self.harness.activeRuns == 0 })
    }

    func testAbsentTestListenerIsNullInTheBody() throws {
        let endpoint = try server(.status(204))
        XCTAssertEqual(harness.run(hook(endpoint.port), context: hookContext(testURL: nil)), .passed(outputTail: ""))
        let body = try JSONReader.parse(Array(XCTUnwrap(endpoint.received.first).body.utf8))
        XCTAssertEqual(body["test_url"], .null)
        XCTAssertEqual(body["test_listener"], .null)
    }

    func test500FailsNamingTheStatusAndKeepsTheBody() throws {
        let endpoint = try server(.responses([
            "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 25\r\n\r\n3 of 40 smoke checks fail",
        ]))
        XCTAssertEqual(harness.run(hook(endpoint.port)),
                       .failed(reason: "HTTP 500", outputTail: "3 of 40 smoke checks fail"))
    }

    func testOtherStatusesFailToo() throws {
        for status in [301, 404, 503] {
            let endpoint = try server(.status(status))
            XCTAssertEqual(harness.run(hook(endpoint.port)), .failed(reason: "HTTP \(status)", outputTail: "ok"))
        }
    }

    func testNoAnswerTimesOut() throws {
        let endpoint = try server(.silent)
        let run = harness.start(hook(endpoint.port, timeoutMilliseconds: 200))
        XCTAssertEqual(run.wait(seconds: 5), .timedOut(outputTail: ""))
        XCTAssertEqual(run.reportCount, 1)
        XCTAssertTrue(harness.waitUntil { self.harness.activeRuns == 0 })
    }

    func testConnectionRefusedFails() throws {
        let port = try LoopbackHTTPServer.closedPort()
        XCTAssertEqual(harness.run(hook(port)), .failed(reason: "connection refused", outputTail: ""))
    }

    func testANameInTheURLIsLookedUpOffTheLoopAndItsAddressPosted() throws {
        harness.stop()
        harness = try HookRunnerHarness(names: ["validator.internal": "127.0.0.1"])
        let endpoint = try server(.responses(["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"]))
        let spec = HookSpec(action: .http(url: "http://validator.internal:\(endpoint.port)/validate"), timeout: .seconds(5))
        XCTAssertEqual(harness.run(spec), .passed(outputTail: "ok"))
        XCTAssertTrue(try XCTUnwrap(endpoint.received.first).head.contains("Host: validator.internal:\(endpoint.port)\r\n"))
    }

    func testANameThatDoesNotResolveFails() {
        let spec = HookSpec(action: .http(url: "http://nowhere.internal:8000/validate"), timeout: .seconds(5))
        XCTAssertEqual(harness.run(spec), .failed(reason: "cannot resolve nowhere.internal", outputTail: ""))
    }

    func testNotAnHTTPURLFails() {
        let outcome = harness.run(HookSpec(action: .http(url: "https://127.0.0.1/validate"), timeout: .seconds(1)))
        XCTAssertEqual(outcome, .failed(reason: "not an http:// URL: https://127.0.0.1/validate", outputTail: ""))
    }

    func test202WithRetryAfterAsksAgainAfterThatDelay() throws {
        let endpoint = try server(.responses([
            "HTTP/1.1 202 Accepted\r\nRetry-After: 1\r\nContent-Length: 7\r\n\r\nrunning",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nall \r\n6\r\npassed\r\n0\r\n\r\n",
        ]))
        XCTAssertEqual(harness.run(hook(endpoint.port)), .passed(outputTail: "all passed"))
        let requests = endpoint.received
        XCTAssertEqual(requests.count, 2)
        guard requests.count == 2 else { return }
        XCTAssertEqual(requests[0].body, requests[1].body)
        XCTAssertGreaterThanOrEqual(requests[1].receivedAt - requests[0].receivedAt, 1_000_000_000, "Retry-After: 1 honoured")
    }

    func test202WithoutRetryAfterIsA2xx() throws {
        let endpoint = try server(.responses(["HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"]))
        XCTAssertEqual(harness.run(hook(endpoint.port)), .passed(outputTail: ""))
        XCTAssertEqual(endpoint.received.count, 1)
    }

    func testStill202AtTheTimeoutTimesOut() throws {
        let endpoint = try server(.responses(["HTTP/1.1 202 Accepted\r\nRetry-After: 1\r\nContent-Length: 7\r\n\r\nrunning"]))
        let run = harness.start(hook(endpoint.port, timeoutMilliseconds: 300))
        XCTAssertEqual(run.wait(seconds: 5), .timedOut(outputTail: "running"))
        XCTAssertEqual(endpoint.received.count, 1)
        XCTAssertTrue(harness.waitUntil { self.harness.activeRuns == 0 })
    }

    func testRetryAfterThatIsNotSecondsFails() throws {
        let endpoint = try server(.responses([
            "HTTP/1.1 202 Accepted\r\nRetry-After: Fri, 27 Nov 2026 12:00:00 GMT\r\nContent-Length: 0\r\n\r\n",
        ]))
        XCTAssertEqual(harness.run(hook(endpoint.port)), .failed(
            reason: "HTTP 202 with a Retry-After that is not a number of seconds: Fri, 27 Nov 2026 12:00:00 GMT",
            outputTail: ""))
    }

    func testCancelDropsTheWaitWithoutAnOutcome() throws {
        let endpoint = try server(.responses(["HTTP/1.1 202 Accepted\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n"]))
        let run = harness.start(hook(endpoint.port))
        XCTAssertTrue(harness.waitUntil { endpoint.received.count == 1 })
        harness.cancel(run)
        XCTAssertEqual(harness.activeRuns, 0)
        XCTAssertNil(run.wait(seconds: 1.2))
        XCTAssertEqual(endpoint.received.count, 1, "no POST after the cancel")
    }

    func testHookURLs() {
        let parsed = { (text: String) in HookURL(text).map { "\($0.address) \($0.path)" } }
        XCTAssertEqual(parsed("http://127.0.0.1:7000/validate?x=1"), "127.0.0.1:7000 /validate?x=1")
        XCTAssertEqual(parsed("HTTP://hooks.internal"), "hooks.internal:80 /")
        XCTAssertEqual(parsed("http://[::1]:8000/v"), "[::1]:8000 /v")
        XCTAssertEqual(parsed("http://[::1]/v"), "[::1]:80 /v")
        for bad in ["https://a/", "http://", "http://:80/", "http://user@host/", "http://a:99999/", "ftp://a", "a:80"] {
            XCTAssertNil(HookURL(bad), bad)
        }
    }
}
