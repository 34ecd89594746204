import XCTest
@testable import TurnoutProxy

/// A connection of an HTTPS listener: the same machine over the worker's TLS session, which waits for the
/// handshake within its own limit, forwards requests as https, and copies what it would otherwise splice.
final class ClientStateMachineSecureTests: XCTestCase {
    typealias H = MachineHarness
    private let get = "GET /a HTTP/1.1\r\nHost: example\r\n\r\n"

    func testHandshakeHasItsOwnLimitAndAStalledOneCloses() {
        let h = H(secure: true)
        XCTAssertEqual(h.machine.deadline, h.now + H.tlsHandshakeTimeout, "tls_handshake, not client_header")
        XCTAssertEqual(h.state, "idle")
        h.advance(by: H.tlsHandshakeTimeout)
        h.timeOut()
        XCTAssertEqual(h.summary, "close(abort: false)", "a client that never finishes its handshake is closed")
    }

    func testCompletedHandshakeStartsTheHeaderLimitAndReads() {
        let h = H(secure: true)
        h.advance(by: 1_000)
        h.machine.handshakeCompleted(h.env)
        XCTAssertEqual(h.machine.deadline, h.now + H.clientHeaderTimeout, "the first request's header limit runs now")
        h.next()
        XCTAssertEqual(h.summary, "readClient", "the request may be inside the session already: it is read at once")
    }

    func testRequestIsForwardedAsHTTPSWithTheListenersPort() {
        let h = H(secure: true)
        h.machine.handshakeCompleted(h.env)
        h.next()
        h.clientSends(get)
        h.route(to: H.target())
        let head = h.upstreamTakes()
        XCTAssertTrue(head.contains("X-Forwarded-Proto: https\r\nX-Forwarded-Port: 8443\r\n"), head)
    }

    func testLongBodiesAreCopiedNotSpliced() {
        let h = H(spliceEnabled: true, secure: true)
        h.machine.handshakeCompleted(h.env)
        h.next()
        h.clientSends("PUT /up HTTP/1.1\r\nHost: x\r\nContent-Length: 102400\r\n\r\n", more: true)
        h.route(to: H.target())
        XCTAssertEqual(h.summary, "readClient", "the request body is read through the session, not spliced")
        h.clientSends(String(repeating: "a", count: 1_000))
        var sent = ""
        while case .writeUpstream = h.action { sent += h.upstreamTakes() }
        XCTAssertTrue(sent.hasPrefix("PUT /up HTTP/1.1\r\n"), sent)
        XCTAssertTrue(sent.hasSuffix("\r\n\r\n" + String(repeating: "a", count: 1_000)), "and copied up behind the head")
    }

    /// A connection whose GET went to its target, the response's first bytes due.
    private func awaitingResponse(secure: Bool, spliceEnabled: Bool = false) -> H {
        let h = H(spliceEnabled: spliceEnabled, secure: secure)
        if secure {
            h.machine.handshakeCompleted(h.env)
            h.next()
        } else {
            h.clientReadable()
        }
        h.clientSends(get)
        h.route(to: H.target())
        h.upstreamTakes()
        h.upstreamReadable()
        return h
    }

    func testLongResponseIsCopiedNotSpliced() {
        let h = awaitingResponse(secure: true, spliceEnabled: true)
        h.upstreamSends("HTTP/1.1 200 OK\r\nContent-Length: 102400\r\n\r\n", more: true)
        XCTAssertEqual(h.summary, "readUpstream", "the body is read into the buffers, to be encrypted, not spliced")
        h.upstreamSends(String(repeating: "b", count: 1_000))
        var sent = ""
        while case .writeClient = h.action { sent += h.clientTakes() }
        XCTAssertTrue(sent.hasPrefix("HTTP/1.1 200 OK\r\n"), sent)
        XCTAssertTrue(sent.hasSuffix("\r\n\r\n" + String(repeating: "b", count: 1_000)), sent)
    }

    func testUpstreamReadsTakeARecordAtATimeAndAFullOneKeepsReadiness() {
        let plain = awaitingResponse(secure: false)
        guard case .readUpstream(_, let whole) = plain.action else { return XCTFail(plain.summary) }
        XCTAssertGreaterThan(whole.count, ClientStateMachine.tlsRecordPayload, "a plain connection reads all it has room for")

        let h = awaitingResponse(secure: true)
        guard case .readUpstream(_, let head) = h.action else { return XCTFail(h.summary) }
        XCTAssertEqual(head.count, ClientStateMachine.tlsRecordPayload, "no more than a TLS record carries")
        h.upstreamSends("HTTP/1.1 200 OK\r\nContent-Length: 40000\r\n\r\n", more: true)
        guard case .readUpstream(_, let body) = h.action else { return XCTFail(h.summary) }
        XCTAssertEqual(body.count, ClientStateMachine.tlsRecordPayload)
        h.upstreamSends(String(repeating: "b", count: ClientStateMachine.tlsRecordPayload))
        XCTAssertTrue(h.clientTakes().hasPrefix("HTTP/1.1 200 OK\r\n"))
        // The body waits in the client's buffer while the next record's worth is read.
        guard case .readUpstream(_, let next) = h.action else {
            return XCTFail("a read that filled its record's worth did not drain the socket: \(h.summary)")
        }
        XCTAssertEqual(next.count, ClientStateMachine.tlsRecordPayload)
    }

    func testAListenerThatRedirectsAnswersEveryRequestWith301AndRoutesNothing() {
        let h = H(redirectToHTTPSPort: 443)
        h.clientReadable()
        h.clientSends("POST /a?b=1 HTTP/1.1\r\nHost: app.example:8080\r\nContent-Length: 3\r\n\r\nabc")
        XCTAssertEqual(h.summary, "writeClient", "no route: the answer goes out at once")
        XCTAssertEqual(h.clientTakes(), "HTTP/1.1 301 Moved Permanently\r\nLocation: https://app.example/a?b=1\r\n"
                       + "Content-Length: 0\r\nConnection: close\r\n\r\n")
        XCTAssertEqual(h.summary, "shutdownClientOutput", "then a lingering close, which discards the body")
        XCTAssertEqual(h.state, "lingering")
    }

    func testARedirectWithoutAHostIs400() {
        let h = H(redirectToHTTPSPort: 443)
        h.clientReadable()
        h.clientSends("GET / HTTP/1.0\r\n\r\n")
        XCTAssertEqual(h.summary, "failed(malformedRequest(400), answer: 400)")
        h.proceed()
        XCTAssertEqual(h.clientTakes(), H.canned(400))
    }

    func testTunnelIsCopiedBothWays() {
        let h = H(spliceEnabled: true, secure: true)
        h.machine.handshakeCompleted(h.env)
        h.next()
        h.clientSends("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n")
        h.route(to: H.target())
        h.upstreamTakes()
        h.upstreamReadable()
        h.upstreamSends("HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n")
        XCTAssertEqual(h.summary, "upgraded(101)")
        h.proceed()
        XCTAssertTrue(h.clientTakes().hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"))
        h.clientReadable()
        XCTAssertEqual(h.summary, "readClient", "no relay is taken for the client's direction")
        h.clientSends("ping")
        XCTAssertEqual(h.upstreamTakes(), "ping")
    }
}
