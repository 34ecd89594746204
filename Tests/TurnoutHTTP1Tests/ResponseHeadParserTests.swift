import TurnoutHTTP1
import XCTest

final class ResponseHeadParserTests: XCTestCase {
    private let validOK = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n"

    private func assertFails(
        _ text: String, _ reason: StaticString, method: HTTPMethod = .get, limits: HeadLimits = HeadLimits(),
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(
            parseResponse(text, method: method, limits: limits).result,
            .failed(HeadError(status: 502, reason: reason)), file: file, line: line)
    }

    private func head(
        _ text: String, method: HTTPMethod = .get, file: StaticString = #filePath, line: UInt = #line
    ) -> ResponseHead? {
        let parsed = parseResponse(text, method: method)
        XCTAssertNotNil(parsed.head, "not complete: \(parsed.result)", file: file, line: line)
        return parsed.head
    }

    func testValidResponseHasExactOffsets() {
        let parsed = parseResponse(validOK + "hello")
        XCTAssertEqual(
            parsed.result,
            .complete(
                ResponseHead(
                    status: 200, version: .http11, headLength: 64, framing: .contentLength(5), keepAlive: true,
                    isUpgrade: false, reason: ByteRange(start: 13, count: 2))))
        XCTAssertEqual(
            parsed.fields[1],
            HeaderField(
                name: ByteRange(start: 43, count: 14), value: ByteRange(start: 59, count: 1), kind: .contentLength,
                isHopByHop: false))
        XCTAssertEqual(parsed.fieldLines, ["Content-Type: text/plain", "Content-Length: 5"])
    }

    func testIncompleteAtEverySplitPoint() {
        let bytes = [UInt8](validOK.utf8)
        for length in 0..<bytes.count {
            XCTAssertEqual(parseResponse(Array(bytes[0..<length])).result, .incomplete, "prefix of \(length) bytes")
        }
    }

    func testStatusLineWithoutReason() {
        let bare = parseResponse("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n")
        XCTAssertEqual(bare.head?.status, 200)
        XCTAssertEqual(bare.head?.reason, ByteRange(start: 12, count: 0))
        let empty = parseResponse("HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n")
        XCTAssertEqual(empty.head?.status, 404)
        XCTAssertEqual(empty.head?.reason, ByteRange(start: 13, count: 0))
        let long = parseResponse("HTTP/1.0 503 Service Unavailable\r\n\r\n")
        XCTAssertEqual(long.head.map { long.text($0.reason) }, "Service Unavailable")
        XCTAssertEqual(long.head?.version, .http10)
    }

    func testMalformedStatusLines() {
        assertFails("HTTP/2 200 OK\r\n\r\n", "malformed status line")
        assertFails("HTTP/1.1 20\r\n\r\n", "malformed status line")
        assertFails("HTTP/1.1 2000 OK\r\n\r\n", "malformed status line")
        assertFails("HTTP/1.1  200 OK\r\n\r\n", "malformed status code")
        assertFails("HTTP/1.1 2x0 OK\r\n\r\n", "malformed status code")
        assertFails("HTTP/1.1 099 Low\r\n\r\n", "malformed status code")
        assertFails("HTTP/2.0 200 OK\r\n\r\n", "unsupported HTTP version in response")
        assertFails("http/1.1 200 OK\r\n\r\n", "unsupported HTTP version in response")
        assertFails("HTTP/1.1 200 O\u{1}K\r\n\r\n", "invalid byte in reason phrase")
        assertFails("\r\nHTTP/1.1 200 OK\r\n\r\n", "empty start line")
    }

    func testFieldSyntaxFailuresAre502() {
        assertFails("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", "bare LF in head")
        assertFails("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", "bare CR in head")
        assertFails("HTTP/1.1 200 OK\r\nX: 1\r\n folded\r\n\r\n", "obs-fold or leading whitespace in field line")
        assertFails("HTTP/1.1 200 OK\r\nX : 1\r\n\r\n", "whitespace before colon")
        assertFails("HTTP/1.1 200 OK\r\nX\u{0}: 1\r\n\r\n", "invalid byte in field name")
        assertFails("HTTP/1.1 200 OK\r\nX: \u{0}\r\n\r\n", "invalid byte in field value")
        assertFails("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "conflicting Content-Length")
        assertFails("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", "invalid Content-Length")
    }

    func testLimitsAre502() {
        assertFails(validOK, "head too large", limits: HeadLimits(maxHeaderBytes: 40))
        assertFails(
            "HTTP/1.1 200 OK\r\nX: " + String(repeating: "v", count: 100), "head too large",
            limits: HeadLimits(maxHeaderBytes: 64))
        assertFails(validOK, "too many header fields", limits: HeadLimits(maxHeaders: 1))
    }

    // MARK: framing (RFC 9112 §6.3)

    func testResponseToHEADHasNoBody() {
        let response = head(validOK, method: .head)
        XCTAssertEqual(response?.framing, BodyFraming.none)
        XCTAssertEqual(response?.keepAlive, true)
        XCTAssertEqual(
            head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", method: .head)?.framing, BodyFraming.none)
    }

    func testInformationalNoContentAndNotModifiedHaveNoBody() {
        for status in [100, 102, 103, 204, 304] {
            let response = head("HTTP/1.1 \(status) X\r\nContent-Length: 10\r\n\r\n")
            XCTAssertEqual(response?.framing, BodyFraming.none, "\(status)")
            XCTAssertEqual(response?.keepAlive, true, "\(status)")
            XCTAssertEqual(response?.isUpgrade, false, "\(status)")
        }
    }

    func testSwitchingProtocolsBecomesATunnel() {
        let parsed = parseResponse(
            "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", method: .get)
        XCTAssertEqual(
            parsed.result,
            .complete(
                ResponseHead(
                    status: 101, version: .http11, headLength: 77, framing: .none, keepAlive: false, isUpgrade: true,
                    reason: ByteRange(start: 13, count: 19))))
        XCTAssertEqual(parsed.fieldLines, ["Connection: Upgrade [hop]", "Upgrade: websocket [hop]"])
    }

    func testSuccessfulCONNECTBecomesATunnel() {
        let response = head("HTTP/1.1 200 Connection Established\r\n\r\n", method: .connect)
        XCTAssertEqual(response?.isUpgrade, true)
        XCTAssertEqual(response?.framing, BodyFraming.none)
        XCTAssertEqual(response?.keepAlive, false)
        XCTAssertEqual(head("HTTP/1.1 407 Auth\r\nContent-Length: 0\r\n\r\n", method: .connect)?.isUpgrade, false)
    }

    func testChunkedAndContentLengthFraming() {
        XCTAssertEqual(head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")?.framing, .chunked)
        XCTAssertEqual(head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")?.keepAlive, true)
        XCTAssertEqual(head(validOK)?.framing, .contentLength(5))
        XCTAssertEqual(head("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")?.framing, .contentLength(0))
    }

    func testWithoutFramingTheBodyRunsUntilClose() {
        let response = head("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
        XCTAssertEqual(response?.framing, .untilClose)
        XCTAssertEqual(response?.keepAlive, false)
        XCTAssertEqual(head("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n")?.keepAlive, false)
    }

    func testAmbiguousOrUnsupportedTransferEncodingIs502() {
        assertFails(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
            "Transfer-Encoding with Content-Length")
        assertFails("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "unsupported transfer coding")
        assertFails("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "unsupported transfer coding")
        assertFails("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", "chunked is not the final coding")
        assertFails("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", "chunked applied twice")
        assertFails("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "Transfer-Encoding in HTTP/1.0 response")
        assertFails(
            "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n",
            "Transfer-Encoding with Content-Length")
    }

    func testKeepAliveRules() {
        XCTAssertEqual(head("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")?.keepAlive, true)
        XCTAssertEqual(head("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?.keepAlive, false)
        XCTAssertEqual(head("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")?.keepAlive, false)
        XCTAssertEqual(head("HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n")?.keepAlive, true)
    }

    func testConnectionTokensMarkFieldsHopByHop() {
        let parsed = parseResponse(
            "HTTP/1.1 200 OK\r\nConnection: x-internal\r\nX-Internal: 1\r\nKeep-Alive: timeout=5\r\n"
                + "Content-Length: 0\r\n\r\n")
        XCTAssertEqual(
            parsed.fieldLines,
            ["Connection: x-internal [hop]", "X-Internal: 1 [hop]", "Keep-Alive: timeout=5 [hop]", "Content-Length: 0"])
    }
}
