@testable import TurnoutHTTP1
import XCTest

final class RequestHeadParserTests: XCTestCase {
    private let validGet =
        "GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n"

    private func assertFails(
        _ text: String, _ status: UInt16, _ reason: StaticString, file: StaticString = #filePath, line: UInt = #line
    ) {
        assertFails(requestBytes(text), status, reason, file: file, line: line)
    }

    private func assertFails(
        _ bytes: [UInt8], _ status: UInt16, _ reason: StaticString, limits: HeadLimits = HeadLimits(),
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let parsed = parseRequest(bytes, limits: limits)
        XCTAssertEqual(parsed.result, .failed(HeadError(status: status, reason: reason)), file: file, line: line)
    }

    private func head(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> RequestHead? {
        let parsed = parseRequest(text)
        XCTAssertNotNil(parsed.head, "not complete: \(parsed.result)", file: file, line: line)
        return parsed.head
    }

    // MARK: valid heads

    func testValidGetHasExactOffsets() {
        let parsed = parseRequest(validGet + "next bytes")
        XCTAssertEqual(
            parsed.result,
            .complete(
                RequestHead(
                    method: .get, methodRange: ByteRange(start: 0, count: 3), target: ByteRange(start: 4, count: 15),
                    version: .http11, headLength: 79, framing: .none, keepAlive: true, expectContinue: false,
                    isUpgrade: false, host: ByteRange(start: 36, count: 11), hasRequestId: false, xForwardedFor: nil)))
        XCTAssertEqual(parsed.fields.count, 3)
        XCTAssertEqual(
            parsed.fields[0],
            HeaderField(
                name: ByteRange(start: 30, count: 4), value: ByteRange(start: 36, count: 11), kind: .host,
                isHopByHop: false))
        XCTAssertEqual(
            parsed.fields[1],
            HeaderField(
                name: ByteRange(start: 49, count: 10), value: ByteRange(start: 61, count: 1), kind: .other,
                isHopByHop: false))
        XCTAssertEqual(
            parsed.fields[2],
            HeaderField(
                name: ByteRange(start: 64, count: 6), value: ByteRange(start: 72, count: 3), kind: .other,
                isHopByHop: false))
        XCTAssertEqual(parsed.text(parsed.head!.target), "/index.html?q=1")
    }

    func testIncompleteAtEverySplitPoint() {
        let bytes = requestBytes(validGet)
        for length in 0..<bytes.count {
            XCTAssertEqual(parseRequest(Array(bytes[0..<length])).result, .incomplete, "prefix of \(length) bytes")
        }
        XCTAssertEqual(parseRequest(bytes).head?.headLength, bytes.count)
    }

    func testValueIsTrimmedOfOptionalWhitespace() {
        let parsed = parseRequest("GET / HTTP/1.1\r\nHost:\t  a \t\r\nX-Words: \ta b\t \r\nX-Empty:\r\nX-Spaces:   \r\n\r\n")
        XCTAssertEqual(parsed.fieldLines, ["Host: a", "X-Words: a b", "X-Empty: ", "X-Spaces: "])
        XCTAssertEqual(parsed.fields[2].value.count, 0)
    }

    func testObsTextInValueIsAccepted() {
        var bytes = requestBytes("GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf")
        bytes += [0xC3, 0xA9]
        bytes += requestBytes("\r\n\r\n")
        XCTAssertEqual(parseRequest(bytes).fieldLines, ["Host: a", "X-Name: café"])
    }

    func testTableIsReusedAcrossParses() {
        let fields = HeaderFieldTable(capacity: 10)
        let first = requestBytes("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n")
        let second = requestBytes("GET / HTTP/1.1\r\nHost: b\r\n\r\n")
        _ = first.withUnsafeBytes { RequestHeadParser.parse($0, limits: HeadLimits(), fields: fields) }
        XCTAssertEqual(fields.count, 3)
        _ = second.withUnsafeBytes { RequestHeadParser.parse($0, limits: HeadLimits(), fields: fields) }
        XCTAssertEqual(fields.count, 1)
        XCTAssertEqual(fields.capacity, 10)
    }

    func testLeadingEmptyLinesUpToFourAreSkipped() {
        let parsed = parseRequest("\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertEqual(parsed.head?.methodRange, ByteRange(start: 8, count: 3))
        XCTAssertEqual(parsed.head?.headLength, 35)
        XCTAssertEqual(parseRequest("\r\n").result, .incomplete)
        XCTAssertEqual(parseRequest("\r\n\r").result, .incomplete)
        assertFails("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "empty start line")
    }

    // MARK: methods and targets

    func testMethodsAreRecognisedCaseSensitively() {
        let expected: [(String, HTTPMethod)] = [
            ("GET", .get), ("HEAD", .head), ("POST", .post), ("PUT", .put), ("DELETE", .delete),
            ("OPTIONS", .options), ("TRACE", .trace), ("PATCH", .patch), ("PROPFIND", .other), ("get", .other),
        ]
        for (token, method) in expected {
            let parsed = parseRequest("\(token) / HTTP/1.1\r\nHost: a\r\n\r\n")
            XCTAssertEqual(parsed.head?.method, method, token)
            XCTAssertEqual(parsed.head.map { parsed.text($0.methodRange) }, token)
        }
        XCTAssertEqual(head("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")?.method, .connect)
    }

    func testIdempotentMethodsFollowRFC9110() {
        let idempotent: [HTTPMethod] = [.get, .head, .put, .delete, .options, .trace]
        let notIdempotent: [HTTPMethod] = [.post, .patch, .connect, .other]
        XCTAssertTrue(idempotent.allSatisfy(\.isIdempotent))
        XCTAssertFalse(notIdempotent.contains(where: \.isIdempotent))
    }

    func testMethodMustBeAToken() {
        assertFails("G@T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid byte in method")
        assertFails(" / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "empty method")
        assertFails("GET\r\nHost: a\r\n\r\n", 400, "request line without target")
        assertFails("GET /\r\nHost: a\r\n\r\n", 400, "request line without version")
    }

    func testTargetForms() {
        XCTAssertNotNil(head("GET http://example.com/a HTTP/1.1\r\nHost: example.com\r\n\r\n"))
        XCTAssertNotNil(head("GET HTTPS://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n"))
        XCTAssertNotNil(head("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"))
        XCTAssertNotNil(head("CONNECT [::1]:8443 HTTP/1.1\r\nHost: a\r\n\r\n"))
        assertFails("GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400, "asterisk-form target without OPTIONS")
        assertFails("GET example.com:443 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid request target form")
        assertFails("GET index.html HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid request target form")
        assertFails("GET http:// HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid request target form")
        assertFails("CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "CONNECT needs authority-form target")
        assertFails("CONNECT example.com HTTP/1.1\r\nHost: a\r\n\r\n", 400, "CONNECT needs authority-form target")
        assertFails("CONNECT example.com:x HTTP/1.1\r\nHost: a\r\n\r\n", 400, "CONNECT needs authority-form target")
        assertFails("CONNECT u@example.com:1 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "CONNECT needs authority-form target")
        assertFails("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "malformed HTTP version")
        assertFails("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400, "malformed HTTP version")
    }

    func testTargetRejectsControlsDELAndNonASCII() {
        for bad: UInt8 in [0x00, 0x01, 0x09, 0x1F, 0x7F, 0x80, 0xFF] {
            var bytes = requestBytes("GET /a")
            bytes.append(bad)
            bytes += requestBytes("b HTTP/1.1\r\nHost: a\r\n\r\n")
            assertFails(bytes, 400, "invalid byte in request target")
        }
    }

    // MARK: versions

    func testVersions() {
        XCTAssertEqual(head("GET / HTTP/1.0\r\n\r\n")?.version, .http10)
        XCTAssertEqual(head("GET / HTTP/1.1\r\nHost: a\r\n\r\n")?.version, .http11)
        assertFails("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, "unsupported HTTP version")
        assertFails("GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505, "unsupported HTTP version")
        assertFails("GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505, "unsupported HTTP version")
        assertFails("GET / http/1.1\r\nHost: a\r\n\r\n", 400, "malformed HTTP version")
        assertFails("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400, "malformed HTTP version")
        assertFails("GET / HTTP/11\r\nHost: a\r\n\r\n", 400, "malformed HTTP version")
        assertFails("GET / HTTP/2\r\nHost: a\r\n\r\n", 400, "malformed HTTP version")
        assertFails("GET / HTTP/1.x\r\nHost: a\r\n\r\n", 400, "malformed HTTP version")
    }

    // MARK: line endings and field syntax

    func testBareCRIsRejected() {
        assertFails("GET / HTTP/1.1\rHost: a\r\n\r\n", 400, "bare CR in head")
        assertFails("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400, "bare CR in head")
        assertFails("\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bare CR in head")
    }

    func testBareLFIsRejected() {
        assertFails("GET / HTTP/1.1\nHost: a\r\n\r\n", 400, "bare LF in head")
        assertFails("GET / HTTP/1.1\r\nHost: a\n\r\n", 400, "bare LF in head")
        assertFails("GET / HTTP/1.1\r\nHost: a\r\n\n", 400, "bare LF in head")
        assertFails("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bare LF in head")
        // Detected before the head is complete.
        assertFails("GET / HTTP/1.1\nHost: a", 400, "bare LF in head")
    }

    func testNulInNameOrValueIsRejected() {
        assertFails(
            [UInt8]("GET / HTTP/1.1\r\nHost: a\r\nX".utf8) + [0] + [UInt8]("Y: 1\r\n\r\n".utf8),
            400, "invalid byte in field name")
        assertFails(
            [UInt8]("GET / HTTP/1.1\r\nHost: a\r\nX: 1".utf8) + [0] + [UInt8]("2\r\n\r\n".utf8),
            400, "invalid byte in field value")
    }

    func testNonTokenNameAndControlsInValueAreRejected() {
        assertFails("GET / HTTP/1.1\r\nHost: a\r\nX(Y): 1\r\n\r\n", 400, "invalid byte in field name")
        assertFails("GET / HTTP/1.1\r\nHost: a\r\nX\u{1}: 1\r\n\r\n", 400, "invalid byte in field name")
        assertFails("GET / HTTP/1.1\r\nHost: a\r\nX: a\u{1}b\r\n\r\n", 400, "invalid byte in field value")
        assertFails("GET / HTTP/1.1\r\nHost: a\r\nX: a\u{7F}b\r\n\r\n", 400, "invalid byte in field value")
    }

    func testWhitespaceBeforeColonIsRejected() {
        assertFails("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, "whitespace before colon")
        assertFails("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400, "whitespace before colon")
    }

    func testObsFoldIsRejected() {
        assertFails(
            "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n", 400, "obs-fold or leading whitespace in field line")
        assertFails(
            "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\t2\r\n\r\n", 400, "obs-fold or leading whitespace in field line")
        assertFails("GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400, "obs-fold or leading whitespace in field line")
    }

    func testFieldLineWithoutColonOrNameIsRejected() {
        assertFails("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400, "field line without colon")
        assertFails("GET / HTTP/1.1\r\nHost: a\r\n: 1\r\n\r\n", 400, "empty field name")
    }

    // MARK: Host

    func testHostIsRequiredOnHTTP11AndUnique() {
        assertFails("GET / HTTP/1.1\r\nX: 1\r\n\r\n", 400, "missing Host")
        assertFails("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", 400, "duplicate Host")
        assertFails("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400, "duplicate Host")
        XCTAssertNil(head("GET / HTTP/1.0\r\n\r\n")?.host)
        let parsed = parseRequest("GET / HTTP/1.1\r\nHOST: Example.com:8080\r\n\r\n")
        XCTAssertEqual(parsed.head.flatMap { $0.host.map(parsed.text) }, "Example.com:8080")
    }

    func testHostFollowsTheURIHostGrammar() {
        let valid = [
            "example.com", "Example.com:8080", "a", "", "127.0.0.1", "127.0.0.1:80", "999.1.1.1", "[::1]", "[::1]:8080",
            "[2001:db8::7]", "[2001:db8:0:0:0:0:2:1]", "[::ffff:192.0.2.1]:443", "[v1.fe80::a+en1]", "ex%41mple.com",
            "a-b_c~d.e", "!$&'()*+,;=", "host:", "[::1]:",
        ]
        for host in valid {
            let parsed = parseRequest("GET / HTTP/1.1\r\nHost: \(host)\r\n\r\n")
            XCTAssertEqual(parsed.head.flatMap { $0.host.map(parsed.text) }, host, host)
        }
        let invalid = [
            "x/../../y", "user@evil", "user:pass@evil", "a b", "a\\b", "a?b", "a#b", "a:b:c", "a:8o", "ex%4",
            "ex%zz", "[::1", "::1", "[::1]x", "[::1]:8o", "[]", "[1:2:3:4:5:6:7:8:9]", "[1::2::3]", "[12345::1]",
            "[::1.2.3]", "[::256.1.1.1]", "[::01.1.1.1]", "[1:2:3:4:5:6:7]", "[:1::2]", "[1::2:]", "[v.x]", "[vz.x]",
            "[v1.]", "\"quoted\"", "a<b", "café",
        ]
        for host in invalid {
            assertFails("GET / HTTP/1.1\r\nHost: \(host)\r\n\r\n", 400, "invalid Host")
        }
        assertFails("GET / HTTP/1.0\r\nHost: x/../../y\r\n\r\n", 400, "invalid Host")
        // An absolute-form target replaces Host, but a malformed Host is still a malformed request.
        assertFails("GET http://good.example/ HTTP/1.1\r\nHost: user@evil\r\n\r\n", 400, "invalid Host")
    }

    func testAbsoluteFormTargetCarriesTheAuthorityAndTheOriginForm() {
        let parsed = parseRequest("GET http://good.example:8080/x?y HTTP/1.1\r\nHost: evil.example\r\n\r\n")
        XCTAssertEqual(parsed.head.flatMap { $0.authority.map(parsed.text) }, "good.example:8080")
        XCTAssertEqual(parsed.head.map { parsed.text($0.originForm) }, "/x?y")
        XCTAssertEqual(parsed.head.map { parsed.text($0.target) }, "http://good.example:8080/x?y")
        XCTAssertEqual(parsed.head.flatMap { $0.host.map(parsed.text) }, "evil.example")
        let bare = parseRequest("GET https://[::1] HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertEqual(bare.head.flatMap { $0.authority.map(bare.text) }, "[::1]")
        XCTAssertEqual(bare.head?.originForm.count, 0)
        let query = parseRequest("GET http://a.example?q=1 HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertEqual(query.head.map { query.text($0.originForm) }, "?q=1")
        // Other forms forward the target as it came.
        let origin = parseRequest("GET /p?q HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertNil(origin.head?.authority)
        XCTAssertEqual(origin.head?.originForm, origin.head?.target)
        // HTTP/1.0 needs no Host, absolute-form or not; HTTP/1.1 does even with one.
        XCTAssertEqual(parseRequest("GET http://a.example/ HTTP/1.0\r\n\r\n").head?.authority, ByteRange(start: 11, count: 9))
        assertFails("GET http://a.example/ HTTP/1.1\r\n\r\n", 400, "missing Host")
    }

    func testAbsoluteFormWithUserinfoOrWithoutHostIsRejected() {
        assertFails("GET http://user@evil.example/x HTTP/1.1\r\nHost: a\r\n\r\n", 400, "userinfo in request target")
        assertFails("GET http://u:p@good.example/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "userinfo in request target")
        assertFails("GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", 400, "empty host in request target")
        assertFails("GET http://:80/x HTTP/1.1\r\nHost: a\r\n\r\n", 400, "empty host in request target")
        assertFails("GET http://a:b:c/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid authority in request target")
        assertFails("GET http://[::1/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid authority in request target")
        assertFails("GET http://a%zz/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid authority in request target")
    }

    // MARK: Content-Length

    func testContentLengthFraming() {
        XCTAssertEqual(head("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 42\r\n\r\n")?.framing, .contentLength(42))
        XCTAssertEqual(head("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")?.framing, .contentLength(0))
        XCTAssertEqual(head("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n")?.framing, .contentLength(5))
        XCTAssertEqual(
            head("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\ncontent-length: 7\r\n\r\n")?.framing,
            .contentLength(7))
        XCTAssertEqual(
            head("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775807\r\n\r\n")?.framing,
            .contentLength(9_223_372_036_854_775_807))
    }

    func testInvalidContentLengthIsRejected() {
        for value in [
            "", "+5", "-1", "5a", "0x10", "5,", ", 5", "5,,5", "1 2", "9223372036854775808",
            "99999999999999999999999",
        ] {
            assertFails("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \(value)\r\n\r\n", 400, "invalid Content-Length")
        }
        assertFails("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n", 400, "invalid Content-Length")
        assertFails(
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            400, "conflicting Content-Length")
    }

    // MARK: Transfer-Encoding

    func testChunkedFraming() {
        XCTAssertEqual(head("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")?.framing, .chunked)
        XCTAssertEqual(head("POST / HTTP/1.1\r\nHost: a\r\ntransfer-encoding:  CHUNKED \r\n\r\n")?.framing, .chunked)
        XCTAssertEqual(head("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,chunked,\r\n\r\n")?.framing, .chunked)
    }

    func testTransferEncodingWithContentLengthIsRejected() {
        assertFails(
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
            400, "Transfer-Encoding with Content-Length")
        assertFails(
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
            400, "Transfer-Encoding with Content-Length")
    }

    func testChunkedMustBeTheOnlyAndFinalCoding() {
        let prefix = "POST / HTTP/1.1\r\nHost: a\r\n"
        assertFails(prefix + "Transfer-Encoding: chunked, gzip\r\n\r\n", 400, "chunked is not the final coding")
        assertFails(prefix + "Transfer-Encoding: chunked, chunked\r\n\r\n", 400, "chunked applied twice")
        assertFails(
            prefix + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            400, "chunked applied twice")
        assertFails(
            prefix + "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
            400, "chunked is not the final coding")
        assertFails(prefix + "Transfer-Encoding: chunked;q=1\r\n\r\n", 400, "malformed Transfer-Encoding")
        assertFails(prefix + "Transfer-Encoding: chu nked\r\n\r\n", 400, "malformed Transfer-Encoding")
        assertFails(prefix + "Transfer-Encoding: \r\n\r\n", 400, "malformed Transfer-Encoding")
        assertFails(prefix + "Transfer-Encoding: ,\r\n\r\n", 400, "malformed Transfer-Encoding")
    }

    func testOtherCodingsAreNotImplemented() {
        let prefix = "POST / HTTP/1.1\r\nHost: a\r\n"
        assertFails(prefix + "Transfer-Encoding: gzip, chunked\r\n\r\n", 501, "unsupported transfer coding")
        assertFails(
            prefix + "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
            501, "unsupported transfer coding")
        assertFails(prefix + "Transfer-Encoding: identity\r\n\r\n", 501, "unsupported transfer coding")
        assertFails(prefix + "Transfer-Encoding: gzip\r\n\r\n", 501, "unsupported transfer coding")
        assertFails(prefix + "Transfer-Encoding: x-custom;level=1, chunked\r\n\r\n", 501, "unsupported transfer coding")
    }

    func testTransferEncodingOnHTTP10IsRejected() {
        assertFails(
            "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "Transfer-Encoding in HTTP/1.0 request")
    }

    // MARK: Expect

    func testExpect() {
        XCTAssertEqual(head("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n")?.expectContinue, true)
        XCTAssertEqual(head("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n\r\n")?.expectContinue, true)
        XCTAssertEqual(head("POST / HTTP/1.1\r\nHost: a\r\n\r\n")?.expectContinue, false)
        XCTAssertEqual(head("POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n")?.expectContinue, false)
        assertFails("POST / HTTP/1.1\r\nHost: a\r\nExpect: something-else\r\n\r\n", 417, "unsupported expectation")
        assertFails("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue, x\r\n\r\n", 417, "unsupported expectation")
    }

    // MARK: limits

    func testHeadAtTheByteLimitIsAcceptedOneMoreIsRefused() {
        let bytes = requestBytes(validGet)
        XCTAssertEqual(
            parseRequest(bytes, limits: HeadLimits(maxHeaderBytes: bytes.count)).head?.headLength, bytes.count)
        assertFails(bytes, 431, "head too large", limits: HeadLimits(maxHeaderBytes: bytes.count - 1))
        assertFails(bytes, 431, "head too large", limits: HeadLimits(maxHeaderBytes: bytes.count - 2))
    }

    func testIncompleteHeadPastTheByteLimitIsRefusedEarly() {
        let partial = requestBytes("GET / HTTP/1.1\r\nHost: a\r\nX-Long: " + String(repeating: "v", count: 60))
        XCTAssertEqual(parseRequest(partial, limits: HeadLimits(maxHeaderBytes: partial.count)).result, .incomplete)
        assertFails(partial, 431, "head too large", limits: HeadLimits(maxHeaderBytes: partial.count - 1))
        let defaultLimit = requestBytes("GET / HTTP/1.1\r\nX: " + String(repeating: "v", count: 16_400))
        assertFails(defaultLimit, 431, "head too large")
    }

    func testFieldCountLimit() {
        let three = "GET / HTTP/1.1\r\nHost: a\r\nB: 2\r\nC: 3\r\n\r\n"
        XCTAssertEqual(parseRequest(three, limits: HeadLimits(maxHeaders: 3)).fields.count, 3)
        let parsed = parseRequest(requestBytes(three), limits: HeadLimits(maxHeaders: 2))
        XCTAssertEqual(parsed.result, .failed(HeadError(status: 431, reason: "too many header fields")))
        // The table's capacity bounds the count as well.
        let small = parseRequest(requestBytes(three), limits: HeadLimits(maxHeaders: 100), capacity: 2)
        XCTAssertEqual(small.result, .failed(HeadError(status: 431, reason: "too many header fields")))
    }

    // MARK: Connection and hop-by-hop

    func testAlwaysHopByHopFields() {
        let parsed = parseRequest(
            "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n"
                + "Proxy-Connection: keep-alive\r\nTE: trailers\r\nTrailer: X-Sum\r\nUpgrade: h2c\r\n"
                + "Content-Length: 0\r\nVia: 1.1 a\r\nX-Forwarded-For: 1.2.3.4\r\nUser-Agent: u\r\n\r\n")
        XCTAssertEqual(
            parsed.fieldLines,
            [
                "Host: a", "Connection: keep-alive [hop]", "Keep-Alive: timeout=5 [hop]",
                "Proxy-Connection: keep-alive [hop]", "TE: trailers [hop]", "Trailer: X-Sum [hop]",
                "Upgrade: h2c [hop]", "Content-Length: 0", "Via: 1.1 a", "X-Forwarded-For: 1.2.3.4", "User-Agent: u",
            ])
        XCTAssertEqual(
            parsed.head?.framing, .contentLength(0))
        XCTAssertEqual(parsed.head?.isUpgrade, false)
    }

    func testTransferEncodingFieldIsHopByHop() {
        let parsed = parseRequest("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
        XCTAssertEqual(parsed.fieldLines, ["Host: a", "Transfer-Encoding: chunked [hop]"])
    }

    func testConnectionTokensMarkNamedFieldsCaseInsensitively() {
        let parsed = parseRequest(
            "GET / HTTP/1.1\r\nx-custom: 1\r\nHost: a\r\nConnection: close, X-CUSTOM,, keep-alive\r\n"
                + "X-Other: 2\r\nconnection: x-second\r\nX-Second: 3\r\nX-Custom: 4\r\n\r\n")
        XCTAssertEqual(
            parsed.fieldLines,
            [
                "x-custom: 1 [hop]", "Host: a", "Connection: close, X-CUSTOM,, keep-alive [hop]", "X-Other: 2",
                "connection: x-second [hop]", "X-Second: 3 [hop]", "X-Custom: 4 [hop]",
            ])
        XCTAssertEqual(parsed.head?.keepAlive, false)
    }

    func testConnectionCannotStripHostOrContentLength() {
        let parsed = parseRequest(
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nConnection: host, content-length\r\n\r\n")
        XCTAssertEqual(
            parsed.fieldLines, ["Host: a", "Content-Length: 3", "Connection: host, content-length [hop]"])
    }

    func testMalformedConnectionIsRejected() {
        assertFails("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep alive\r\n\r\n", 400, "malformed Connection")
    }

    func testKeepAliveRules() {
        XCTAssertEqual(head("GET / HTTP/1.1\r\nHost: a\r\n\r\n")?.keepAlive, true)
        XCTAssertEqual(head("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")?.keepAlive, false)
        XCTAssertEqual(head("GET / HTTP/1.1\r\nHost: a\r\nConnection: CLOSE\r\n\r\n")?.keepAlive, false)
        XCTAssertEqual(head("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n")?.keepAlive, true)
        XCTAssertEqual(head("GET / HTTP/1.0\r\n\r\n")?.keepAlive, false)
        XCTAssertEqual(head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")?.keepAlive, true)
        XCTAssertEqual(head("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n")?.keepAlive, false)
        XCTAssertEqual(head("GET / HTTP/1.0\r\nKeep-Alive: timeout=5\r\n\r\n")?.keepAlive, false)
    }

    func testUpgradeNeedsConnectionTokenAndUpgradeField() {
        let upgrade = "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
        XCTAssertEqual(head(upgrade)?.isUpgrade, true)
        XCTAssertEqual(head("GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n")?.isUpgrade, false)
        XCTAssertEqual(head("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n")?.isUpgrade, false)
        XCTAssertEqual(
            head("GET /ws HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n")?.isUpgrade, false)
    }

    func testRequestIdAndForwardedFor() {
        let parsed = parseRequest(
            "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.1.1.1\r\nx-request-id: abc\r\n"
                + "x-forwarded-for: 2.2.2.2\r\n\r\n")
        XCTAssertEqual(parsed.head?.hasRequestId, true)
        XCTAssertEqual(parsed.head?.xForwardedFor, 3)
        XCTAssertEqual(head("GET / HTTP/1.1\r\nHost: a\r\n\r\n")?.xForwardedFor, nil)
        XCTAssertEqual(head("GET / HTTP/1.1\r\nHost: a\r\n\r\n")?.hasRequestId, false)
    }

    func testKnownHeadersAreRecognisedIgnoringCase() {
        let names: [(String, KnownHeader)] = [
            ("HOST", .host), ("content-LENGTH", .contentLength), ("Transfer-Encoding", .transferEncoding),
            ("CONNECTION", .connection), ("keep-alive", .keepAlive), ("Proxy-Connection", .proxyConnection),
            ("te", .te), ("Trailer", .trailer), ("upgrade", .upgrade), ("Expect", .expect),
            ("X-Forwarded-For", .xForwardedFor), ("x-forwarded-proto", .xForwardedProto),
            ("X-FORWARDED-PORT", .xForwardedPort), ("X-Request-ID", .xRequestId), ("VIA", .via),
            ("X-Host", .other), ("Hosts", .other), ("Content-Lengths", .other),
        ]
        for (name, kind) in names {
            let value: String
            switch kind {
            case .host: value = "h"
            case .contentLength: value = "1"
            case .transferEncoding: value = "chunked"
            case .expect: value = "100-continue"
            default: value = "v"
            }
            let hostLine = kind == .host ? "" : "Host: h\r\n"
            let parsed = parseRequest("POST / HTTP/1.1\r\n\(hostLine)\(name): \(value)\r\n\r\n")
            XCTAssertNotNil(parsed.head, name)
            XCTAssertEqual(parsed.fields.count > 0 ? parsed.fields[parsed.fields.count - 1].kind : nil, kind, name)
        }
    }

    /// Recognition compares eight bytes at a time with the case bit set: a name one token byte away from a known
    /// one, at any position and with any token byte, must stay `.other`.
    func testANameOneByteFromAKnownOneIsOther() {
        let known: [(String, KnownHeader)] = [
            ("te", .te), ("via", .via), ("host", .host), ("expect", .expect), ("upgrade", .upgrade),
            ("trailer", .trailer), ("connection", .connection), ("keep-alive", .keepAlive),
            ("x-request-id", .xRequestId), ("content-length", .contentLength), ("x-forwarded-for", .xForwardedFor),
            ("proxy-connection", .proxyConnection), ("x-forwarded-port", .xForwardedPort),
            ("transfer-encoding", .transferEncoding), ("x-forwarded-proto", .xForwardedProto),
        ]
        let tokenBytes = Array("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        for (name, kind) in known {
            let bytes = Array(name.utf8)
            for position in bytes.indices {
                for replacement in tokenBytes {
                    var changed = bytes
                    changed[position] = replacement
                    let sameName = replacement | 0x20 == bytes[position] && (replacement >= 0x41 && replacement <= 0x5A
                        || replacement == bytes[position])
                    let recognised = changed.withUnsafeBytes { KnownHeader.recognise($0) }
                    XCTAssertEqual(recognised, sameName ? kind : .other,
                                   "\(String(decoding: changed, as: UTF8.self)) against \(name)")
                }
            }
        }
    }
}
