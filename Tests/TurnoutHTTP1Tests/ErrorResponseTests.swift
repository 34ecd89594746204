import TurnoutHTTP1
import XCTest

final class ErrorResponseTests: XCTestCase {
    private func text(_ status: UInt16) -> String {
        String(decoding: ErrorResponse.bytes(status: status), as: UTF8.self)
    }

    func testBadRequestIsExact() {
        XCTAssertEqual(
            text(400),
            "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 16\r\nConnection: close\r\n\r\n"
                + "400 Bad Request\n")
    }

    func testEveryPreparedResponseParsesWithAMatchingLength() {
        let reasons: [UInt16: String] = [
            400: "Bad Request", 408: "Request Timeout", 413: "Content Too Large", 417: "Expectation Failed",
            431: "Request Header Fields Too Large", 501: "Not Implemented", 502: "Bad Gateway",
            503: "Service Unavailable", 504: "Gateway Timeout", 505: "HTTP Version Not Supported",
        ]
        XCTAssertEqual(Set(ErrorResponse.statuses), Set(reasons.keys))
        for status in ErrorResponse.statuses {
            let bytes = [UInt8](ErrorResponse.bytes(status: status))
            let parsed = parseResponse(bytes)
            guard let head = parsed.head else {
                XCTFail("\(status) does not parse: \(parsed.result)")
                continue
            }
            let body = String(decoding: bytes[head.headLength...], as: UTF8.self)
            XCTAssertEqual(head.status, status)
            XCTAssertEqual(parsed.text(head.reason), reasons[status])
            XCTAssertEqual(body, "\(status) \(reasons[status]!)\n")
            XCTAssertEqual(head.framing, .contentLength(UInt64(body.utf8.count)))
            XCTAssertEqual(head.keepAlive, false)
            XCTAssertEqual(
                parsed.fieldLines,
                [
                    "Content-Type: text/plain", "Content-Length: \(body.utf8.count)", "Connection: close [hop]",
                ])
        }
    }

    func testOtherStatusesGetInternalServerError() {
        XCTAssertEqual(
            text(418),
            "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: 26\r\n"
                + "Connection: close\r\n\r\n500 Internal Server Error\n")
    }

    func testBytesAreStaticStorage() {
        XCTAssertEqual(ErrorResponse.bytes(status: 502).baseAddress, ErrorResponse.bytes(status: 502).baseAddress)
    }
}
