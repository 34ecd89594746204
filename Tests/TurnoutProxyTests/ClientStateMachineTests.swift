import XCTest
@testable import TurnoutProxy
import TurnoutHTTP1
import TurnoutPosix

/// The client connection's state machine without sockets: a connection's life from accept to close, keep-alive
/// and pipelining, the client-side timeouts, draining and malformed requests. (Exchanges that go wrong:
/// `ClientStateMachineExchangeTests`; splicing and tunnels: `ClientStateMachineSpliceTests`.)
final class ClientStateMachineTests: XCTestCase {
    typealias H = MachineHarness
    private let ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

    /// Reads a GET and routes it to a pooled connection, whose head it returns.
    private func startGet(_ h: H, _ request: String = "GET /a HTTP/1.1\r\nHost: example\r\n\r\n", more: Bool = false,
                          file: StaticString = #filePath, line: UInt = #line) -> String {
        h.clientReadable()
        h.clientSends(request, more: more, file: file, line: line)
        XCTAssertEqual(h.summary, "route(excluding: nil, orExcluded: false, retry: false)", file: file, line: line)
        h.route(to: H.target(), file: file, line: line)
        return h.upstreamTakes(file: file, line: line)
    }

    /// The upstream answers `response` whole; returns what the client is sent.
    private func respond(_ h: H, _ response: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        h.upstreamReadable()
        h.upstreamSends(response, file: file, line: line)
        var sent = ""
        while case .writeClient = h.action { sent += h.clientTakes(file: file, line: line) }
        return sent
    }

    func testAcceptedConnectionWaitsIdleWithTheHeaderTimeout() {
        let h = H()
        XCTAssertEqual(h.state, "idle")
        XCTAssertEqual(h.machine.deadline, h.now + H.clientHeaderTimeout)
        h.next()
        XCTAssertEqual(h.summary, "wait", "no buffers are taken before bytes are readable")
        XCTAssertEqual(h.env.pool.idleClientBuffers, 0)
    }

    func testKeepAliveGetGoesIdleWithItsBuffersGivenBack() {
        let h = H()
        h.clientReadable()
        XCTAssertEqual(h.summary, "readClient")
        XCTAssertEqual(h.state, "readingHead")
        h.advance(by: 1_000)
        h.clientSends("GET /a HTTP/1.1\r\nHost: example\r\n")
        XCTAssertEqual(h.summary, "wait", "an incomplete head waits for more")
        XCTAssertEqual(h.machine.deadline, h.now + H.clientHeaderTimeout, "the header timeout runs from the first byte")
        h.clientReadable()
        h.advance(by: 1_000)
        h.clientSends("\r\n")
        XCTAssertEqual(h.machine.deadline, h.now - 1_000 + H.clientHeaderTimeout, "not from later bytes")
        XCTAssertEqual(h.summary, "route(excluding: nil, orExcluded: false, retry: false)")
        XCTAssertEqual(h.state, "routing")
        h.route(to: H.target())
        XCTAssertEqual(h.state, "exchanging")
        XCTAssertEqual(h.machine.deadline, h.now + H.responseTimeout, "the routed group's upstream_response")
        let head = h.upstreamTakes()
        XCTAssertTrue(head.hasPrefix("GET /a HTTP/1.1\r\nHost: example\r\n"), head)
        XCTAssertTrue(head.contains("X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Port: 8080\r\n"), head)
        XCTAssertTrue(head.hasSuffix("\r\n\r\n"), head)
        XCTAssertEqual(h.summary, "wait")

        h.upstreamReadable()
        XCTAssertEqual(h.summary, "readUpstream")
        h.upstreamSends(ok)
        XCTAssertEqual(h.summary, "writeClient", "a response head goes out as it comes")
        let sent = h.clientTakes()
        XCTAssertTrue(sent.hasPrefix("HTTP/1.1 200 OK\r\n"), sent)
        XCTAssertTrue(sent.hasSuffix("\r\n\r\nok"), sent)
        XCTAssertEqual(h.summary, "finishExchange(200, reuse: true, idle)")
        h.proceed()
        XCTAssertEqual(h.summary, "wait")
        XCTAssertEqual(h.state, "idle", "nothing buffered and nothing readable")
        XCTAssertEqual(h.machine.deadline, h.now + H.clientIdleTimeout)
        XCTAssertEqual(h.env.pool.idleClientBuffers, 1, "the client's buffers are given back")
        XCTAssertEqual(h.env.pool.idleLinks, 1, "and the upstream link with its buffers")
    }

    func testPipelinedRequestIsRoutedWithoutAnotherRead() {
        let h = H()
        let first = startGet(h, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertTrue(first.hasPrefix("GET /a "), first)
        XCTAssertFalse(first.contains("/b"), "the second request waits in the input buffer")
        _ = respond(h, ok)
        XCTAssertEqual(h.summary, "finishExchange(200, reuse: true)")
        h.proceed()
        XCTAssertEqual(h.summary, "route(excluding: nil, orExcluded: false, retry: false)")
        XCTAssertEqual(h.machine.deadline, h.now + H.clientIdleTimeout, "a pipelined head has the idle limit")
        h.route(to: H.target())
        XCTAssertTrue(h.upstreamTakes().hasPrefix("GET /b HTTP/1.1\r\n"))
    }

    func testConnectionCloseClosesWithoutLingerOnceTheResponseIsOut() {
        let h = H()
        _ = startGet(h, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let sent = respond(h, ok)
        XCTAssertTrue(sent.contains("Connection: close\r\n"), sent)
        XCTAssertEqual(h.summary, "finishExchange(200, reuse: true)")
        h.proceed()
        XCTAssertEqual(h.summary, "close(abort: false)")
    }

    func testConnectionCloseWithBytesAfterTheRequestLingers() {
        let h = H()
        _ = startGet(h, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /more")
        _ = respond(h, ok)
        h.proceed()
        XCTAssertEqual(h.state, "lingering")
        XCTAssertEqual(h.summary, "shutdownClientOutput")
        XCTAssertEqual(h.machine.deadline, h.now + H.lingerTimeout)
        h.proceed()
        XCTAssertEqual(h.summary, "wait")
        h.clientReadable()
        h.clientSends("discarded", more: true)
        XCTAssertEqual(h.summary, "readClient", "lingering reads on until the client closes")
        h.clientRead(.endOfFile)
        XCTAssertEqual(h.summary, "close(abort: false)")
    }

    func testHTTP10WithoutKeepAliveCloses() {
        let h = H()
        let head = startGet(h, "GET / HTTP/1.0\r\n\r\n")
        XCTAssertTrue(head.contains("Host: 127.0.0.1:3000\r\n"), "a request without Host gets the target's")
        let sent = respond(h, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n")
        XCTAssertFalse(sent.contains("Transfer-Encoding"), sent)
        XCTAssertTrue(sent.hasSuffix("\r\n\r\nok"), "an HTTP/1.0 client gets the chunks unwrapped: \(sent)")
        h.proceed()
        XCTAssertEqual(h.summary, "close(abort: false)")
    }

    func testHTTP10KeepAliveIsAnnounced() {
        let h = H()
        _ = startGet(h, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        let sent = respond(h, ok)
        XCTAssertTrue(sent.contains("Connection: keep-alive\r\n"), sent)
        h.proceed()
        XCTAssertEqual(h.state, "idle")
    }

    // MARK: - Timeouts on the client's side

    func testIdleConnectionClosesAtItsDeadline() {
        let h = H()
        h.advance(by: H.clientHeaderTimeout)
        h.timeOut()
        XCTAssertEqual(h.summary, "close(abort: false)")
    }

    func testIncompleteHeadGets408AndLingers() {
        let h = H()
        h.clientReadable()
        h.clientSends("GET / HTTP/1.1\r\n")
        h.advance(by: H.clientHeaderTimeout)
        h.timeOut()
        XCTAssertEqual(h.summary, "failed(requestHeadTimedOut, answer: 408)")
        h.proceed()
        XCTAssertEqual(h.clientTakes(), H.canned(408))
        XCTAssertEqual(h.summary, "shutdownClientOutput")
        h.proceed()
        h.advance(by: H.lingerTimeout)
        h.timeOut()
        XCTAssertEqual(h.summary, "close(abort: false)", "the linger timeout ends the lingering close")
    }

    func testReadingHeadWithNothingBufferedJustCloses() {
        let h = H()
        h.clientReadable()
        h.advance(by: H.clientHeaderTimeout)
        h.timeOut()
        XCTAssertEqual(h.summary, "close(abort: false)")
    }

    func testKeepAliveConnectionClosesAfterTheIdleTimeout() {
        let h = H()
        _ = startGet(h)
        _ = respond(h, ok)
        h.proceed()
        XCTAssertEqual(h.state, "idle")
        h.advance(by: H.clientIdleTimeout)
        h.timeOut()
        XCTAssertEqual(h.summary, "close(abort: false)")
    }

    func testAnswerTheClientNeverTakesClosesAtTheLingerDeadline() {
        let h = H()
        h.clientReadable()
        h.clientSends("GET / HTTP/1.1\r\n")
        h.advance(by: H.clientHeaderTimeout)
        h.timeOut()
        h.machine.writable = false
        h.proceed()
        XCTAssertEqual(h.summary, "wait", "the 408 waits for the client to take it")
        XCTAssertEqual(h.state, "closing")
        XCTAssertEqual(h.machine.deadline, h.now + H.lingerTimeout)
        h.advance(by: H.lingerTimeout)
        h.timeOut()
        XCTAssertEqual(h.summary, "close(abort: false)")
    }

    // MARK: - Malformed requests and clients that go away

    func testMalformedRequestIsAnsweredAndNothingIsRouted() {
        let h = H()
        h.clientReadable()
        h.clientSends("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
        XCTAssertEqual(h.summary, "failed(malformedRequest(400), answer: 400)")
        h.proceed()
        XCTAssertEqual(h.clientTakes(), H.canned(400))
        XCTAssertEqual(h.summary, "shutdownClientOutput", "an error response is followed by a lingering close")
    }

    func testClientThatClosesBeforeAHeadIsClosed() {
        let h = H()
        h.clientReadable()
        h.clientSends("GET / HT")
        h.clientReadable()
        h.clientRead(.endOfFile)
        XCTAssertEqual(h.summary, "close(abort: false)")
    }

    func testClientThatStopsReadingTheResponseIsClosed() {
        let h = H()
        _ = startGet(h)
        h.upstreamReadable()
        h.upstreamSends(ok)
        h.clientWrite(.failed(EPIPE))
        XCTAssertEqual(h.summary, "close(abort: false)")
    }

    func testResponseWaitsForTheClientToTakeIt() {
        let h = H()
        _ = startGet(h)
        h.upstreamReadable()
        h.upstreamSends(ok)
        h.machine.writable = false
        h.clientWrite(.wouldBlock)
        XCTAssertEqual(h.summary, "wait")
        XCTAssertEqual(h.state, "exchanging")
        h.machine.writable = true
        h.next()
        XCTAssertTrue(h.clientTakes().hasSuffix("ok"))
        XCTAssertEqual(h.summary, "finishExchange(200, reuse: true, idle)")
    }

    // MARK: - Draining and closing

    func testDrainClosesIdleConnectionsAndFinishesExchanges() {
        let idle = H()
        XCTAssertTrue(idle.machine.drain())

        let reading = H()
        reading.clientReadable()
        XCTAssertTrue(reading.machine.drain(), "nothing read yet")
        reading.clientSends("GET / HT")
        XCTAssertFalse(reading.machine.drain(), "a request under way is answered")

        let h = H()
        _ = startGet(h)
        XCTAssertFalse(h.machine.drain())
        let sent = respond(h, ok)
        XCTAssertTrue(sent.contains("Connection: close\r\n"), "the response says the connection closes: \(sent)")
        XCTAssertEqual(h.summary, "finishExchange(200, reuse: true)")
        h.proceed()
        XCTAssertEqual(h.summary, "shutdownClientOutput", "then the connection closes (the client asked for more)")
    }

    func testRequestsStartedWhileDrainingCloseAfterTheResponse() {
        let h = H()
        h.env.draining = true
        _ = startGet(h)
        XCTAssertTrue(respond(h, ok).contains("Connection: close\r\n"))
    }

    func testCloseHandsOverTheUpstreamAndGivesBuffersBack() {
        let h = H()
        _ = startGet(h)
        let released = h.machine.close(h.env)
        XCTAssertTrue(released.upstream?.connection === h.upstreams.last)
        XCTAssertNil(released.relays.first)
        XCTAssertEqual(h.state, "closed")
        XCTAssertEqual(h.env.pool.idleClientBuffers, 1)
        XCTAssertEqual(h.env.pool.idleLinks, 0, "the upstream's link goes with the upstream, to the worker")
        XCTAssertEqual(h.machine.close(h.env).upstream == nil, true, "closing twice releases nothing twice")
    }
}
