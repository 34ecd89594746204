import TurnoutHTTP1
import XCTest

final class HeaderFieldTableLookupTests: XCTestCase {
    private let request = parseRequest(
        "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: h2c, WebSocket\r\nconnection: keep-alive,  UPGRADE \r\n"
            + "SEC-WEBSOCKET-KEY: k1\r\nX-Request-Id: first\r\nSec-WebSocket-Key: k2\r\nX-Request-Id: second\r\n"
            + "Upgrade: tls/1.2\r\n\r\n")

    private func withSource<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        request.bytes.withUnsafeBytes(body)
    }

    func testFirstIndexOfAKindIsTheEarliestField() {
        XCTAssertEqual(request.fields.firstIndex(of: .xRequestId), 4)
        XCTAssertEqual(request.text(request.fields[4].value), "first")
        XCTAssertEqual(request.fields.firstIndex(of: .upgrade), 1)
        XCTAssertNil(request.fields.firstIndex(of: .contentLength))
    }

    func testFirstIndexByNameIgnoresCase() {
        let key = withSource { request.fields.firstIndex(named: "sec-websocket-key", in: $0) }
        XCTAssertEqual(key, 3)
        XCTAssertEqual(request.text(request.fields[3].value), "k1")
        XCTAssertEqual(withSource { request.fields.firstIndex(named: "host", in: $0) }, 0)
        XCTAssertNil(withSource { request.fields.firstIndex(named: "sec-websocket-version", in: $0) })
        // A prefix of a name is not the name.
        XCTAssertNil(withSource { request.fields.firstIndex(named: "sec-websocket", in: $0) })
    }

    func testContainsTokenReadsEveryFieldOfTheKindAsAList() {
        withSource { source in
            XCTAssertTrue(request.fields.containsToken("websocket", inFieldsOf: .upgrade, in: source))
            XCTAssertTrue(request.fields.containsToken("h2c", inFieldsOf: .upgrade, in: source))
            XCTAssertTrue(request.fields.containsToken("tls/1.2", inFieldsOf: .upgrade, in: source))
            XCTAssertTrue(request.fields.containsToken("upgrade", inFieldsOf: .connection, in: source))
            XCTAssertTrue(request.fields.containsToken("keep-alive", inFieldsOf: .connection, in: source))
            XCTAssertFalse(request.fields.containsToken("close", inFieldsOf: .connection, in: source))
            // Elements are compared whole, and only in fields of the kind asked for.
            XCTAssertFalse(request.fields.containsToken("web", inFieldsOf: .upgrade, in: source))
            XCTAssertFalse(request.fields.containsToken("websocket", inFieldsOf: .connection, in: source))
        }
    }
}
