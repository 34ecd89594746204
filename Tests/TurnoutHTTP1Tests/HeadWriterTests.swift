import TurnoutHTTP1
import XCTest

final class HeadWriterTests: XCTestCase {
    // MARK: helpers

    /// Parses `request`, rewrites it into a buffer of `capacity` bytes and returns the output as text.
    private func rewrite(
        _ request: String, client: String = "10.0.0.1", proto: StaticString = "http", port: UInt16 = 80,
        requestId: String? = nil, target: String = "10.0.0.9:3000", extraFields: String = "", capacity: Int = 4096,
        file: StaticString = #filePath, line: UInt = #line
    ) -> String? {
        let parsed = parseRequest(request)
        guard let head = parsed.head else {
            XCTFail("request did not parse: \(parsed.result)", file: file, line: line)
            return nil
        }
        let clientBytes = [UInt8](client.utf8)
        let idBytes = [UInt8]((requestId ?? "").utf8)
        let targetBytes = [UInt8](target.utf8)
        let extraBytes = [UInt8](extraFields.utf8)
        var out = [UInt8](repeating: 0, count: capacity)
        let written: Int? = parsed.bytes.withUnsafeBytes { source in
            clientBytes.withUnsafeBytes { clientAddress in
                idBytes.withUnsafeBytes { id in
                    targetBytes.withUnsafeBytes { targetAuthority in
                        extraBytes.withUnsafeBytes { extra in
                            out.withUnsafeMutableBytes { buffer in
                                RequestHeadWriter.write(
                                    head, fields: parsed.fields, source: source,
                                    forwarded: ForwardedFor(
                                        clientAddress: clientAddress, proto: proto, port: port,
                                        requestId: requestId == nil ? nil : id, targetAuthority: targetAuthority),
                                    extraFields: extra, into: buffer)
                            }
                        }
                    }
                }
            }
        }
        return written.map { String(decoding: out[0..<$0], as: UTF8.self) }
    }

    /// Parses `response` (to a request of `method`), rewrites it and returns the output as text.
    private func rewrite(
        response: String, method: HTTPMethod = .get, closeAfter: Bool = false, dechunkForHTTP10: Bool = false,
        announceKeepAlive: Bool = false, capacity: Int = 4096, file: StaticString = #filePath, line: UInt = #line
    ) -> String? {
        let parsed = parseResponse(response, method: method)
        guard let head = parsed.head else {
            XCTFail("response did not parse: \(parsed.result)", file: file, line: line)
            return nil
        }
        var out = [UInt8](repeating: 0, count: capacity)
        let written: Int? = parsed.bytes.withUnsafeBytes { source in
            out.withUnsafeMutableBytes { buffer in
                ResponseHeadWriter.write(
                    head, fields: parsed.fields, source: source, closeAfter: closeAfter,
                    dechunkForHTTP10: dechunkForHTTP10, announceKeepAlive: announceKeepAlive, into: buffer)
            }
        }
        return written.map { String(decoding: out[0..<$0], as: UTF8.self) }
    }

    // MARK: requests

    func testRequestDropsHopByHopAndAddsForwardingFields() {
        let output = rewrite(
            "GET /path?x=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl\r\nConnection: keep-alive, X-Secret\r\n"
                + "Keep-Alive: timeout=5\r\nX-Secret: s\r\nX-Forwarded-Proto: spoofed\r\nx-forwarded-port: 1\r\n"
                + "Accept: */*\r\n\r\n",
            proto: "https", port: 8443, requestId: "req-1")
        XCTAssertEqual(
            output,
            "GET /path?x=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl\r\nAccept: */*\r\n"
                + "X-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Port: 8443\r\n"
                + "Via: 1.1 turnout\r\nX-Request-Id: req-1\r\n\r\n")
    }

    /// A mirrored copy's marks go last, after the fields the proxy adds; the client's own Connection stays dropped.
    func testExtraFieldsGoBeforeTheEmptyLine() {
        let output = rewrite(
            "POST /p HTTP/1.1\r\nHost: example.com\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
            extraFields: "X-Turnout-Mirror: 1\r\nConnection: close\r\n")
        XCTAssertEqual(
            output,
            "POST /p HTTP/1.1\r\nHost: example.com\r\nContent-Length: 2\r\n"
                + "X-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Port: 80\r\n"
                + "Via: 1.1 turnout\r\nX-Turnout-Mirror: 1\r\nConnection: close\r\n\r\n")
    }

    func testRequestAppendsToLastForwardedForAndVia() {
        let output = rewrite(
            "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.1.1.1\r\nVia: 1.0 edge\r\nx-request-id: abc\r\n"
                + "x-forwarded-for: 2.2.2.2\r\nAccept: x\r\n\r\n",
            client: "2001:db8::1")
        XCTAssertEqual(
            output,
            "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.1.1.1\r\nVia: 1.0 edge, 1.1 turnout\r\n"
                + "x-request-id: abc\r\nx-forwarded-for: 2.2.2.2, 2001:db8::1\r\nAccept: x\r\n"
                + "X-Forwarded-Proto: http\r\nX-Forwarded-Port: 80\r\n\r\n")
    }

    func testForwardedForNamedByConnectionIsReplaced() {
        let output = rewrite(
            "GET / HTTP/1.1\r\nHost: a\r\nConnection: x-forwarded-for\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n")
        XCTAssertEqual(
            output,
            "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: http\r\n"
                + "X-Forwarded-Port: 80\r\nVia: 1.1 turnout\r\n\r\n")
    }

    func testChunkedRequestGetsTransferEncodingLast() {
        let output = rewrite(
            "POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\nHost: a\r\nTE: trailers\r\nX-A: 1\r\n\r\n", port: 65535)
        XCTAssertEqual(
            output,
            "POST /up HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: http\r\n"
                + "X-Forwarded-Port: 65535\r\nVia: 1.1 turnout\r\nTransfer-Encoding: chunked\r\n\r\n")
    }

    func testContentLengthIsCopiedOnceAsASingleValue() {
        XCTAssertEqual(
            rewrite("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n", port: 0),
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\nX-Forwarded-For: 10.0.0.1\r\n"
                + "X-Forwarded-Proto: http\r\nX-Forwarded-Port: 0\r\nVia: 1.1 turnout\r\n\r\n")
        XCTAssertEqual(
            rewrite("POST / HTTP/1.1\r\nHost: a\r\ncontent-length: 5, 5\r\nContent-Length: 5\r\n\r\n"),
            "POST / HTTP/1.1\r\nHost: a\r\ncontent-length: 5\r\nX-Forwarded-For: 10.0.0.1\r\n"
                + "X-Forwarded-Proto: http\r\nX-Forwarded-Port: 80\r\nVia: 1.1 turnout\r\n\r\n")
    }

    func testUpgradeRequestKeepsUpgradeField() {
        let output = rewrite(
            "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\n\r\n")
        XCTAssertEqual(
            output,
            "GET /ws HTTP/1.1\r\nHost: a\r\nSec-WebSocket-Key: k\r\nX-Forwarded-For: 10.0.0.1\r\n"
                + "X-Forwarded-Proto: http\r\nX-Forwarded-Port: 80\r\nVia: 1.1 turnout\r\n"
                + "Connection: upgrade\r\nUpgrade: websocket\r\n\r\n")
    }

    func testUpgradeFieldWithoutConnectionTokenIsDropped() {
        XCTAssertEqual(
            rewrite("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\n\r\n"),
            "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: http\r\n"
                + "X-Forwarded-Port: 80\r\nVia: 1.1 turnout\r\n\r\n")
    }

    func testHTTP10RequestIsForwardedAsHTTP11WithTheTargetAsHost() {
        XCTAssertEqual(
            rewrite("OPTIONS * HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", target: "[::1]:3000"),
            "OPTIONS * HTTP/1.1\r\nHost: [::1]:3000\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: http\r\n"
                + "X-Forwarded-Port: 80\r\nVia: 1.0 turnout\r\n\r\n")
        // A Host the client sent stays where it was.
        XCTAssertEqual(
            rewrite("GET /a HTTP/1.0\r\nAccept: x\r\nHost: app.example\r\n\r\n"),
            "GET /a HTTP/1.1\r\nAccept: x\r\nHost: app.example\r\nX-Forwarded-For: 10.0.0.1\r\n"
                + "X-Forwarded-Proto: http\r\nX-Forwarded-Port: 80\r\nVia: 1.0 turnout\r\n\r\n")
    }

    func testAbsoluteFormGoesOutInOriginFormWithHostFromTheTarget() {
        let forwarding = "X-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Port: 80\r\n"
        XCTAssertEqual(
            rewrite("GET http://good.example/x?y=1 HTTP/1.1\r\nAccept: x\r\nHost: evil.example\r\nUser-Agent: u\r\n\r\n"),
            "GET /x?y=1 HTTP/1.1\r\nHost: good.example\r\nAccept: x\r\nUser-Agent: u\r\n" + forwarding
                + "Via: 1.1 turnout\r\n\r\n")
        XCTAssertEqual(
            rewrite("GET HTTPS://good.example:8443 HTTP/1.1\r\nHost: good.example:8443\r\n\r\n"),
            "GET / HTTP/1.1\r\nHost: good.example:8443\r\n" + forwarding + "Via: 1.1 turnout\r\n\r\n")
        XCTAssertEqual(
            rewrite("OPTIONS http://[::1]:80?q HTTP/1.0\r\n\r\n"),
            "OPTIONS /?q HTTP/1.1\r\nHost: [::1]:80\r\n" + forwarding + "Via: 1.0 turnout\r\n\r\n")
    }

    func testRequestThatDoesNotFitReturnsNil() {
        let request = "GET /abc HTTP/1.1\r\nHost: a\r\nX-Long: 0123456789\r\n\r\n"
        let full = rewrite(request)!
        let size = full.utf8.count
        XCTAssertEqual(rewrite(request, capacity: size), full)
        for capacity in 0..<size {
            XCTAssertNil(rewrite(request, capacity: capacity), "capacity \(capacity)")
        }
    }

    // MARK: responses

    func testResponseDropsHopByHopAndAddsVia() {
        let response =
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: keep-alive\r\n"
            + "Keep-Alive: timeout=5\r\n\r\n"
        XCTAssertEqual(
            rewrite(response: response),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nVia: 1.1 turnout\r\n\r\n")
        XCTAssertEqual(
            rewrite(response: response, closeAfter: true),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nVia: 1.1 turnout\r\n"
                + "Connection: close\r\n\r\n")
        XCTAssertEqual(
            rewrite(response: response, announceKeepAlive: true),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nVia: 1.1 turnout\r\n"
                + "Connection: keep-alive\r\n\r\n")
    }

    func testChunkedResponse() {
        let response = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nVia: 1.1 app\r\n\r\n"
        XCTAssertEqual(
            rewrite(response: response),
            "HTTP/1.1 200 OK\r\nVia: 1.1 app, 1.1 turnout\r\nTransfer-Encoding: chunked\r\n\r\n")
        XCTAssertEqual(
            rewrite(response: response, dechunkForHTTP10: true),
            "HTTP/1.1 200 OK\r\nVia: 1.1 app, 1.1 turnout\r\nConnection: close\r\n\r\n")
    }

    func testDechunkingDoesNotTouchOtherFraming() {
        XCTAssertEqual(
            rewrite(response: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", dechunkForHTTP10: true),
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nVia: 1.1 turnout\r\n\r\n")
    }

    func testBodyUntilCloseAnnouncesClose() {
        XCTAssertEqual(
            rewrite(response: "HTTP/1.0 200 OK\r\nServer: s\r\n\r\n", announceKeepAlive: true),
            "HTTP/1.1 200 OK\r\nServer: s\r\nVia: 1.0 turnout\r\nConnection: close\r\n\r\n")
    }

    func testSwitchingProtocolsKeepsUpgrade() {
        XCTAssertEqual(
            rewrite(
                response: "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                    + "Sec-WebSocket-Accept: x\r\n\r\n", closeAfter: true),
            "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: x\r\nVia: 1.1 turnout\r\n"
                + "Connection: upgrade\r\nUpgrade: websocket\r\n\r\n")
    }

    func testStatusLineWithoutReasonKeepsTheSpace() {
        XCTAssertEqual(rewrite(response: "HTTP/1.1 204\r\n\r\n"), "HTTP/1.1 204 \r\nVia: 1.1 turnout\r\n\r\n")
        XCTAssertEqual(
            rewrite(response: "HTTP/1.1 304 Not Modified\r\nContent-Length: 7, 7\r\n\r\n"),
            "HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\nVia: 1.1 turnout\r\n\r\n")
    }

    func testNoContentLosesItsContentLengthAndNotModifiedKeepsIt() {
        // RFC 9110 §8.6: no Content-Length in a 204; in a 304 it describes the selected representation.
        XCTAssertEqual(
            rewrite(response: "HTTP/1.1 204 No Content\r\nContent-Length: 12\r\nX-A: 1\r\n\r\n"),
            "HTTP/1.1 204 No Content\r\nX-A: 1\r\nVia: 1.1 turnout\r\n\r\n")
        XCTAssertEqual(
            rewrite(response: "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n", closeAfter: true),
            "HTTP/1.1 204 No Content\r\nVia: 1.1 turnout\r\nConnection: close\r\n\r\n")
        XCTAssertEqual(
            rewrite(response: "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 12\r\n\r\n"),
            "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 12\r\nVia: 1.1 turnout\r\n\r\n")
        XCTAssertEqual(
            rewrite(response: "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", method: .head),
            "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nVia: 1.1 turnout\r\n\r\n")
    }

    func testInterimResponseKeepsEndToEndFieldsOnly() {
        XCTAssertEqual(
            rewrite(response: "HTTP/1.1 100 Continue\r\n\r\n", closeAfter: true),
            "HTTP/1.1 100 Continue\r\nVia: 1.1 turnout\r\n\r\n")
        XCTAssertEqual(
            rewrite(
                response: "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nConnection: close, X-Hop\r\n"
                    + "X-Hop: 1\r\nContent-Length: 5\r\nKeep-Alive: timeout=1\r\n\r\n", closeAfter: true),
            "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nVia: 1.1 turnout\r\n\r\n")
    }

    func testResponseThatDoesNotFitReturnsNil() {
        let response = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        let full = rewrite(response: response, closeAfter: true)!
        let size = full.utf8.count
        XCTAssertEqual(rewrite(response: response, closeAfter: true, capacity: size), full)
        for capacity in 0..<size {
            XCTAssertNil(rewrite(response: response, closeAfter: true, capacity: capacity), "capacity \(capacity)")
        }
    }
}
