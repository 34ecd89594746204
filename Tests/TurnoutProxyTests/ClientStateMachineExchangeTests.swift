import Glibc
import XCTest
@testable import TurnoutProxy
import TurnoutHTTP1
import TurnoutPosix

/// An exchange's transitions without sockets: interim responses, early responses, connecting, retries, splice
/// hand-offs, the upstream's timeouts and every way an exchange fails.
final class ClientStateMachineExchangeTests: XCTestCase {
    typealias H = MachineHarness
    private let get = "GET /a HTTP/1.1\r\nHost: x\r\nX-Request-Id: r1\r\n\r\n"
    private let ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

    /// Reads `request` and leaves the machine asking for a route.
    private func read(_ h: H, _ request: String, file: StaticString = #filePath, line: UInt = #line) {
        h.clientReadable()
        h.clientSends(request, file: file, line: line)
        XCTAssertEqual(h.summary, "route(excluding: nil, orExcluded: false, retry: false)", file: file, line: line)
    }

    /// Sends `get` to a pooled upstream and leaves the upstream readable, its answer awaited.
    private func awaitResponse(_ h: H, file: StaticString = #filePath, line: UInt = #line) {
        read(h, get, file: file, line: line)
        h.route(to: H.target(), file: file, line: line)
        h.upstreamTakes(file: file, line: line)
        h.upstreamReadable()
    }

    /// What the client is sent until the machine asks for something else.
    private func clientReceives(_ h: H, file: StaticString = #filePath, line: UInt = #line) -> String {
        var sent = ""
        while case .writeClient = h.action { sent += h.clientTakes(file: file, line: line) }
        return sent
    }

    // MARK: - Interim responses

    func testContinueIsRelayedThenTheBodyGoesUp() {
        let h = H()
        read(h, "PUT /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        h.route(to: H.target())
        XCTAssertTrue(h.upstreamTakes().contains("Expect: 100-continue\r\n"))
        XCTAssertEqual(h.summary, "wait", "the body is not there yet")
        h.upstreamReadable()
        h.upstreamSends("HTTP/1.1 100 Continue\r\n\r\n")
        XCTAssertTrue(clientReceives(h).hasPrefix("HTTP/1.1 100 Continue\r\n"))
        XCTAssertEqual(h.summary, "wait")
        h.clientReadable()
        h.clientSends("hello")
        XCTAssertEqual(h.upstreamTakes(), "hello")
        h.upstreamReadable()
        h.upstreamSends("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
        XCTAssertTrue(clientReceives(h).hasPrefix("HTTP/1.1 201 Created\r\n"))
        XCTAssertEqual(h.summary, "finishExchange(201, reuse: true, idle)")
    }

    func testInterimResponsesAreNotRelayedToHTTP10Clients() {
        let h = H()
        read(h, "GET / HTTP/1.0\r\n\r\n")
        h.route(to: H.target())
        h.upstreamTakes()
        h.upstreamReadable()
        h.upstreamSends("HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n" + ok)
        let sent = clientReceives(h)
        XCTAssertTrue(sent.hasPrefix("HTTP/1.1 200 OK\r\n"), sent)
        XCTAssertFalse(sent.contains("103"))
    }

    func testEleventhInterimResponseEndsTheExchangeAfterTheTenRelayed() {
        let h = H()
        awaitResponse(h)
        h.upstreamSends(String(repeating: "HTTP/1.1 103 Early Hints\r\n\r\n", count: 11))
        XCTAssertEqual(h.summary, "failed(tooManyInterimResponses, answer: 502)")
        h.proceed()
        let sent = clientReceives(h)
        XCTAssertEqual(sent.components(separatedBy: "HTTP/1.1 103 Early Hints\r\n").count - 1, 10)
        XCTAssertTrue(sent.hasSuffix(H.canned(502)), "the 502 follows the interim heads already relayed")
    }

    // MARK: - Early responses

    func testResponseBeforeTheRequestBodyEndsClosesBothConnections() {
        let h = H()
        read(h, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        h.route(to: H.target())
        XCTAssertTrue(h.upstreamTakes().hasSuffix("\r\n\r\nabc"), "the body's first bytes follow the head")
        h.upstreamReadable()
        h.upstreamSends("HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n\r\n")
        let sent = clientReceives(h)
        XCTAssertTrue(sent.contains("Connection: close\r\n"), "the rest of the body will not be read: \(sent)")
        XCTAssertEqual(h.summary, "finishExchange(413, reuse: false)",
                       "the upstream waits for the rest of a body it will not get")
        h.proceed()
        XCTAssertEqual(h.summary, "shutdownClientOutput", "the client may still be sending: linger")
    }

    // MARK: - Connecting and retries

    func testNewConnectionSendsTheHeadOnceConnected() {
        let h = H()
        read(h, get)
        let upstream = h.route(to: H.target(), reused: false, connected: false)
        XCTAssertEqual(h.summary, "wait")
        XCTAssertEqual(h.state, "connecting")
        XCTAssertEqual(h.machine.deadline, h.now + H.connectTimeout)
        upstream.connected = true
        upstream.writable = true
        h.next()
        XCTAssertEqual(h.state, "exchanging")
        XCTAssertTrue(h.upstreamTakes().hasPrefix("GET /a HTTP/1.1\r\n"))
    }

    func testRefusedConnectIsRetriedOnceElsewhereThen502() {
        let h = H()
        let first = H.target(port: 3000), second = H.target(port: 3001)
        read(h, get)
        h.refuse(first)
        XCTAssertEqual(h.summary, "failed(connectFailed(127.0.0.1:3000, errno: 111, attempt: 1), answer: nil)")
        h.proceed()
        XCTAssertEqual(h.summary, "route(excluding: 127.0.0.1:3000, orExcluded: false, retry: true)")
        h.refuse(second)
        XCTAssertEqual(h.summary, "failed(connectFailed(127.0.0.1:3001, errno: 111, attempt: 2), answer: 502)")
        h.proceed()
        XCTAssertEqual(clientReceives(h), H.canned(502))
    }

    func testConnectFailingLaterIsRetried() {
        let h = H()
        read(h, get)
        h.route(to: H.target(port: 3000), reused: false, connected: false)
        h.action = h.machine.connectFailed(errno: ECONNREFUSED, h.env)
        XCTAssertEqual(h.summary, "failed(connectFailed(127.0.0.1:3000, errno: 111, attempt: 1), answer: nil)")
        XCTAssertTrue(h.machine.released.upstream?.connection === h.upstreams[0],
                      "the failed connection is handed back to close")
        h.proceed()
        XCTAssertEqual(h.summary, "route(excluding: 127.0.0.1:3000, orExcluded: false, retry: true)")
        h.route(to: H.target(port: 3001))
        XCTAssertTrue(h.upstreamTakes().hasPrefix("GET /a "))
    }

    func testConnectTimeoutIsAConnectFailure() {
        let h = H()
        read(h, get)
        h.route(to: H.target(), reused: false, connected: false)
        h.advance(by: H.connectTimeout)
        h.timeOut()
        XCTAssertEqual(h.summary, "failed(connectFailed(127.0.0.1:3000, errno: \(ETIMEDOUT), attempt: 1), answer: nil)")
    }

    func testNoTargetIs503AndAfterAFailedAttempt502() {
        let h = H()
        read(h, get)
        h.action = h.machine.noTarget(h.env)
        XCTAssertEqual(h.summary, "failed(noTarget, answer: 503)")

        let retried = H()
        read(retried, get)
        retried.refuse(H.target())
        retried.proceed()
        retried.action = retried.machine.noTarget(retried.env)
        XCTAssertEqual(retried.summary, "failed(noTarget, answer: 502)")
    }

    func testAnAnswerForARoutedRequestIsReportedWithItsRoute() {
        let h = H()
        let first = H.target(port: 3000), second = H.target(port: 3001)  // the worker's routing holds them
        read(h, get)
        h.refuse(first)
        h.proceed()
        h.refuse(second)
        XCTAssertEqual(h.summary, "failed(connectFailed(127.0.0.1:3001, errno: 111, attempt: 2), answer: 502)")
        guard case .connectFailed(_, let counters, _, _)? = h.machine.report?.failure else {
            return XCTFail("no connect failure reported")
        }
        XCTAssertTrue(h.machine.report?.route === counters.object, "the 502 counts on the route last tried too")

        let unrouted = H()
        read(unrouted, get)
        unrouted.action = unrouted.machine.noTarget(unrouted.env)
        XCTAssertEqual(unrouted.summary, "failed(noTarget, answer: 503)")
        XCTAssertNil(unrouted.machine.report?.route, "a request never routed counts on no route")
    }

    func testNoDescriptorForTheUpstreamIs503() {
        let h = H()
        read(h, get)
        h.action = h.machine.noResources(route: h.counters(for: H.target()), h.env)
        XCTAssertEqual(h.summary, "failed(localResourceShortage, answer: 503)")
        h.proceed()
        XCTAssertEqual(clientReceives(h), H.canned(503))
    }

    func testPooledConnectionClosedBeforeRespondingIsRetriedWithTheSameHead() {
        let h = H()
        read(h, get)
        h.route(to: H.target(port: 3000), reused: true)
        let head = h.upstreamTakes()
        h.upstreamReadable()
        h.upstreamRead(.endOfFile)
        XCTAssertEqual(h.summary,
                       "failed(upstreamLost(127.0.0.1:3000, closedBeforeResponse, reused: true, retry: true), answer: nil)")
        h.proceed()
        XCTAssertEqual(h.summary, "route(excluding: 127.0.0.1:3000, orExcluded: true, retry: true)",
                       "a reused connection's target stays the last resort")
        h.route(to: H.target(port: 3001), reused: false)
        XCTAssertEqual(h.upstreamTakes(), head)
        h.upstreamReadable()
        h.upstreamSends(ok)
        XCTAssertEqual(h.summary, "writeClient")
    }

    func testNewConnectionLostBeforeRespondingCountsAgainstItsTarget() {
        let h = H()
        read(h, get)
        h.route(to: H.target(port: 3000), reused: false)
        h.upstreamWrite(.failed(ECONNRESET))
        XCTAssertEqual(h.summary,
                       "failed(upstreamLost(127.0.0.1:3000, writeFailed, reused: false, retry: true), answer: nil)")
        h.proceed()
        XCTAssertEqual(h.summary, "route(excluding: 127.0.0.1:3000, orExcluded: false, retry: true)")
    }

    func testSecondLostUpstreamIs502() {
        let h = H()
        read(h, get)
        h.route(to: H.target(port: 3000))
        h.upstreamTakes()
        h.upstreamReadable()
        h.upstreamRead(.endOfFile)
        h.proceed()
        h.route(to: H.target(port: 3001))
        h.upstreamTakes()
        h.upstreamReadable()
        h.upstreamRead(.failed(ECONNRESET))
        XCTAssertEqual(h.summary,
                       "failed(upstreamLost(127.0.0.1:3001, closedBeforeResponse, reused: true, retry: false), answer: 502)")
    }

    func testNonIdempotentRequestIsNotRetried() {
        let h = H()
        read(h, "POST /order HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        h.route(to: H.target())
        h.upstreamTakes()
        h.upstreamReadable()
        h.upstreamRead(.endOfFile)
        XCTAssertEqual(h.summary,
                       "failed(upstreamLost(127.0.0.1:3000, closedBeforeResponse, reused: true, retry: false), answer: 502)")
        h.proceed()
        XCTAssertEqual(clientReceives(h), H.canned(502))
    }

    func testRequestWithABodyIsNotRetried() {
        let h = H()
        read(h, "PUT /doc HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
        h.route(to: H.target())
        h.upstreamTakes()
        h.upstreamReadable()
        h.upstreamRead(.endOfFile)
        XCTAssertEqual(h.summary,
                       "failed(upstreamLost(127.0.0.1:3000, closedBeforeResponse, reused: true, retry: false), answer: 502)",
                       "its body is gone: it cannot be sent again")
    }

    func testUpstreamThatSentPartOfAHeadIsNotRetried() {
        let h = H()
        awaitResponse(h)
        h.upstreamSends("HTTP/1.1 200 O", more: true)
        h.upstreamRead(.endOfFile)
        XCTAssertEqual(h.summary,
                       "failed(upstreamLost(127.0.0.1:3000, closedBeforeResponse, reused: true, retry: false), answer: 502)",
                       "the upstream may have acted on the request")
    }

    // MARK: - The upstream's timeouts

    func testNoResponseWithinTheGroupsLimitIs504() {
        let h = H()
        read(h, get)
        h.route(to: H.target())
        h.upstreamTakes()
        h.advance(by: H.responseTimeout - 1)
        XCTAssertGreaterThan(h.machine.deadline, h.now)
        h.advance(by: 1)
        h.timeOut()
        XCTAssertEqual(h.summary, "failed(upstreamResponseTimedOut, answer: 504)")
        h.proceed()
        XCTAssertEqual(clientReceives(h), H.canned(504))
    }

    func testStalledResponseIsAbortedAndProgressPostponesIt() {
        let h = H()
        awaitResponse(h)
        h.upstreamSends("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        _ = clientReceives(h)
        h.advance(by: 1_000_000)
        h.upstreamReadable()
        h.upstreamSends("de")
        _ = clientReceives(h)
        XCTAssertEqual(h.machine.deadline, h.now + H.responseTimeout, "each read renews the limit")
        h.advance(by: H.responseTimeout)
        h.timeOut()
        XCTAssertEqual(h.summary, "close(abort: true, transferStalled)")
    }

    // MARK: - Failures

    func testMalformedResponseIs502() {
        let h = H()
        awaitResponse(h)
        h.upstreamSends("HTTP/1.1 2x0 OK\r\n\r\n")
        XCTAssertEqual(h.summary, "failed(malformedResponse(127.0.0.1:3000), answer: 502)")
        XCTAssertNotNil(h.machine.released.upstream, "the upstream is closed: its state is unknown")
    }

    func testUnexpectedSwitchingProtocolsIs502() {
        let h = H()
        awaitResponse(h)
        h.upstreamSends("HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n")
        XCTAssertEqual(h.summary, "failed(unexpectedProtocolSwitch, answer: 502)")
    }

    func testRequestHeadTooLargeForTheUpstreamBufferIs431() {
        let h = H()
        read(h, get)
        h.route(to: H.target(), outputCapacity: 32)
        XCTAssertEqual(h.summary, "failed(requestHeadTooLarge, answer: 431)")
    }

    func testMalformedChunkedRequestBodyIs400() {
        let h = H()
        read(h, "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
        h.route(to: H.target())
        XCTAssertEqual(h.summary, "failed(malformedRequestBody(400), answer: 400)")
    }

    func testClientGoneDuringTheRequestBodyAbortsBoth() {
        let h = H()
        read(h, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        h.route(to: H.target())
        h.upstreamTakes()
        h.clientReadable()
        h.clientRead(.endOfFile)
        XCTAssertEqual(h.summary, "close(abort: true, clientClosedDuringBody)")
        let released = h.machine.close(h.env)
        XCTAssertNotNil(released.upstream, "the upstream got part of a request: it closes")
    }

    func testUpstreamGoneMidBodyAbortsAfterWhatWasBuffered() {
        let h = H()
        awaitResponse(h)
        h.upstreamSends("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        h.clientTakes(limit: 10)
        h.machine.writable = false
        h.clientWrite(.wouldBlock)
        h.upstreamReadable()
        h.upstreamRead(.endOfFile)
        XCTAssertEqual(h.summary, "close(abort: true, upstreamClosedMidResponse, flushing)",
                       "part of the response went out: a reset, never a short response that looks whole")
    }

    func testUpstreamGoneBeforeAnyResponseByteWentOutIs502Instead() {
        let h = H()
        awaitResponse(h)
        h.upstreamSends("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", more: true)
        XCTAssertEqual(h.summary, "readUpstream", "the body is read before the client is written to")
        h.upstreamRead(.failed(ECONNRESET))
        XCTAssertEqual(h.summary, "failed(upstreamFailedMidResponse(errno: \(ECONNRESET)), answer: 502)")
        h.proceed()
        XCTAssertEqual(clientReceives(h), H.canned(502), "the unsent head is replaced, not followed")
    }

    func testMalformedChunkedResponseBodyAborts() {
        let h = H()
        awaitResponse(h)
        h.upstreamSends("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        XCTAssertTrue(clientReceives(h).hasPrefix("HTTP/1.1 200 OK\r\n"))
        h.upstreamReadable()
        h.upstreamSends("zz\r\n")
        XCTAssertEqual(h.summary, "close(abort: true, malformedResponseBody, flushing)")
    }

    func testUntilCloseResponseEndsWithTheUpstream() {
        let h = H()
        awaitResponse(h)
        h.upstreamSends("HTTP/1.1 200 OK\r\n\r\nstream")
        let sent = clientReceives(h)
        XCTAssertTrue(sent.contains("Connection: close\r\n"), sent)
        XCTAssertTrue(sent.hasSuffix("stream"), sent)
        h.upstreamReadable()
        h.upstreamRead(.endOfFile)
        XCTAssertEqual(h.summary, "finishExchange(200, reuse: false)")
        h.proceed()
        XCTAssertEqual(h.summary, "shutdownClientOutput")
    }

    // MARK: - Splice hand-offs

    /// A response head for a body long enough to splice, read with more bytes behind it.
    private func startLongResponse(_ h: H, file: StaticString = #filePath, line: UInt = #line) {
        awaitResponse(h, file: file, line: line)
        h.upstreamSends("HTTP/1.1 200 OK\r\nContent-Length: 102400\r\n\r\n", more: true, file: file, line: line)
        XCTAssertEqual(h.summary, "writeClient", "the head goes out before the body's span is spliced",
                       file: file, line: line)
        XCTAssertTrue(h.clientTakes(file: file, line: line).hasPrefix("HTTP/1.1 200 OK\r\n"), file: file, line: line)
    }

    func testLongResponseBodyIsSplicedThenTheRelayIsGivenBack() {
        let h = H(spliceEnabled: true)
        startLongResponse(h)
        XCTAssertEqual(h.summary, "takeRelay(responseBody)", "nothing buffered: the span takes a pipe")
        let relay = h.relay()
        h.giveRelay(relay)
        XCTAssertEqual(h.summary, "splice(responseBody, limit: 102400)")
        h.advance(by: 1_000)
        h.spliced(.progressed, remaining: 2_400, written: 100_000)
        XCTAssertEqual(h.machine.deadline, h.now + H.responseTimeout, "spliced bytes renew the limit")
        XCTAssertEqual(h.summary, "splice(responseBody, limit: 2400)", "a span once spliced is spliced to its end")
        h.spliced(.progressed, remaining: 0, written: 2_400)
        XCTAssertEqual(h.summary, "releaseRelay")
        h.proceed()
        XCTAssertTrue(h.lastReleased.relays.first === relay, "the drained relay is handed back")
        XCTAssertEqual(h.summary, "finishExchange(200, reuse: true, idle)")
    }

    func testNoPipeToBeHadCopiesTheSpan() {
        let h = H(spliceEnabled: true)
        startLongResponse(h)
        h.giveRelay(nil)
        XCTAssertEqual(h.summary, "readUpstream", "the span goes through the buffers this time")
        h.upstreamSends(String(repeating: "a", count: 1_000), more: true)
        XCTAssertEqual(h.summary, "writeClient")
        XCTAssertEqual(h.clientTakes().count, 1_000)
    }

    func testSpliceTheKernelRefusesFallsBackToCopying() {
        let h = H(spliceEnabled: true)
        startLongResponse(h)
        h.giveRelay(h.relay())
        h.spliced(.unsupported, remaining: 102_400)
        XCTAssertEqual(h.summary, "releaseRelay", "an empty pipe is given back and the body is copied")
        h.env.spliceEnabled = false  // the worker's part: no more relays
        h.proceed()
        XCTAssertEqual(h.summary, "readUpstream")
    }

    func testUpstreamGoneMidSpliceAbortsTheResponse() {
        let h = H(spliceEnabled: true)
        startLongResponse(h)
        h.giveRelay(h.relay())
        h.spliced(.sourceEnded, remaining: 2_400, written: 100_000)
        XCTAssertEqual(h.summary, "close(abort: true, upstreamClosedMidResponse, flushing)")
        XCTAssertEqual(h.state, "exchanging", "the connection closes from where it was")
    }

    func testClientGoneMidSpliceClosesWithoutAReport() {
        let h = H(spliceEnabled: true)
        startLongResponse(h)
        h.giveRelay(h.relay())
        h.spliced(.destinationFailed(EPIPE), remaining: 2_400)
        XCTAssertEqual(h.summary, "close(abort: false)")
    }

    /// Sends the head of a request whose body is long enough to splice, and gives its span a relay.
    private func startLongRequest(_ h: H, file: StaticString = #filePath, line: UInt = #line) {
        read(h, "PUT /up HTTP/1.1\r\nHost: x\r\nContent-Length: 102400\r\n\r\n", file: file, line: line)
        h.route(to: H.target(), file: file, line: line)
        XCTAssertTrue(h.upstreamTakes(file: file, line: line).hasPrefix("PUT /up HTTP/1.1\r\n"), file: file, line: line)
        XCTAssertEqual(h.summary, "takeRelay(requestBody)", "the head is out: the body's span takes a pipe",
                       file: file, line: line)
        h.giveRelay(h.relay(), file: file, line: line)
        XCTAssertEqual(h.summary, "splice(requestBody, limit: 102400)", file: file, line: line)
    }

    func testLongRequestBodyIsSplicedUpThenTheResponseFollows() {
        let h = H(spliceEnabled: true)
        startLongRequest(h)
        h.spliced(.progressed, remaining: 0)
        XCTAssertEqual(h.summary, "releaseRelay")
        h.proceed()
        XCTAssertEqual(h.summary, "wait", "the request is through; the response is awaited")
        h.upstreamReadable()
        h.upstreamSends("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
        XCTAssertTrue(clientReceives(h).hasPrefix("HTTP/1.1 201 Created\r\n"))
        XCTAssertEqual(h.summary, "finishExchange(201, reuse: true, idle)")
    }

    func testClientGoneMidRequestSpliceAbortsBoth() {
        let h = H(spliceEnabled: true)
        startLongRequest(h)
        h.spliced(.sourceEnded, remaining: 50_000)
        XCTAssertEqual(h.summary, "close(abort: true, clientClosedDuringBody)")
        let released = h.machine.close(h.env)
        XCTAssertNotNil(released.upstream, "the upstream got part of a request: it closes")
        XCTAssertNotNil(released.relays.first, "and so does the relay with the span")
    }

    func testUpstreamGoneMidRequestSpliceIsALostUpstream() {
        let h = H(spliceEnabled: true)
        startLongRequest(h)
        h.spliced(.destinationFailed(EPIPE), remaining: 50_000)
        XCTAssertEqual(h.summary,
                       "failed(upstreamLost(127.0.0.1:3000, writeFailed, reused: true, retry: false), answer: 502)",
                       "part of the body is gone: no retry")
    }
}
