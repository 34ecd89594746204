import TurnoutCore
import XCTest
@testable import TurnoutProxy

/// A listener rule's own answers in the connection's state machine: a keep-alive request gets the answer in
/// `answering` and the connection reads on; a request with a body, or one that asked to close, gets
/// `Connection: close` and the connection closes after it.
final class ClientStateMachineAnswerTests: XCTestCase {
    typealias H = MachineHarness

    private func matcher() throws -> RuleMatcher {
        try compiledRules("""
                  - { name: down, match: { path: "/admin/*" }, fixed_response: { status: 503, body: "back soon" } }
                  - { name: old, match: { path: "/old/*" }, redirect: { path: "/new/{path}", status: 301 } }
            """).0
    }

    func testKeepAliveAnswerIsFlushedAndThePipelinedRequestRouted() throws {
        let h = H()
        let rules = try matcher()
        h.clientReadable()
        h.clientSends("GET /admin/x HTTP/1.1\r\nHost: a\r\n\r\nGET /old/a/b HTTP/1.1\r\nHost: a\r\n\r\nGET /c HTTP/1.1\r\nHost: a\r\n\r\n")
        h.answer(by: rules)
        XCTAssertEqual(h.state, "answering")
        XCTAssertEqual(h.machine.deadline, h.now + H.clientIdleTimeout, "the client has client_idle to take the answer")
        XCTAssertEqual(h.clientTakes(limit: 20), "HTTP/1.1 503 Service", "a part of the answer")
        XCTAssertEqual(h.state, "answering")
        XCTAssertEqual(h.clientTakes(), " Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nback soon")
        XCTAssertEqual(h.summary, "route(excluding: nil, orExcluded: false, retry: false)", "the next request, without a read")
        h.answer(by: rules)
        XCTAssertEqual(h.clientTakes(), "HTTP/1.1 301 Moved Permanently\r\nLocation: /new/a/b\r\nContent-Length: 0\r\n\r\n")
        XCTAssertEqual(h.summary, "route(excluding: nil, orExcluded: false, retry: false)")
        h.route(to: H.target())
        XCTAssertTrue(h.upstreamTakes().hasPrefix("GET /c HTTP/1.1\r\n"))
    }

    func testAnswerWithNothingMoreGoesIdleWithItsBuffersGivenBack() throws {
        let h = H()
        h.clientReadable()
        h.clientSends("GET /admin/x HTTP/1.1\r\nHost: a\r\n\r\n")
        h.answer(by: try matcher())
        XCTAssertTrue(h.clientTakes().hasSuffix("\r\n\r\nback soon"))
        XCTAssertEqual(h.summary, "wait")
        XCTAssertEqual(h.state, "idle")
        XCTAssertEqual(h.machine.deadline, h.now + H.clientIdleTimeout)
        XCTAssertEqual(h.env.pool.idleClientBuffers, 1)
    }

    func testAnswerToARequestWithABodyClosesAndLingers() throws {
        let h = H()
        h.clientReadable()
        h.clientSends("POST /admin/x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhel", more: true)
        h.answer(by: try matcher())
        XCTAssertEqual(h.state, "closing")
        XCTAssertEqual(h.clientTakes(),
                       "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 9\r\nConnection: close\r\n\r\nback soon")
        XCTAssertEqual(h.summary, "shutdownClientOutput")
        h.proceed()
        XCTAssertEqual(h.state, "lingering", "the rest of the body is read and discarded")
    }

    func testAnswerToAClientThatAskedToCloseClosesOnceItIsOut() throws {
        let h = H()
        h.clientReadable()
        h.clientSends("GET /old/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        h.answer(by: try matcher())
        XCTAssertEqual(h.clientTakes(),
                       "HTTP/1.1 301 Moved Permanently\r\nLocation: /new/x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        XCTAssertEqual(h.summary, "close(abort: false)")
    }

    func testAnswerTheClientDoesNotTakeClosesAtItsDeadline() throws {
        let h = H()
        h.clientReadable()
        h.clientSends("GET /admin/x HTTP/1.1\r\nHost: a\r\n\r\n")
        h.answer(by: try matcher())
        h.clientWrite(.wouldBlock)
        XCTAssertEqual(h.summary, "wait")
        XCTAssertEqual(h.state, "answering")
        h.advance(by: H.clientIdleTimeout)
        h.action = h.machine.timedOut(h.env)
        XCTAssertEqual(h.summary, "close(abort: false)")
    }
}
