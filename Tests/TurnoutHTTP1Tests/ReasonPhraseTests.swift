import TurnoutHTTP1
import XCTest

final class ReasonPhraseTests: XCTestCase {
    private func phrase(_ status: Int) -> String { "\(ReasonPhrase.of(status))" }

    func testRegisteredStatusesHaveTheirPhrases() {
        XCTAssertEqual(phrase(100), "Continue")
        XCTAssertEqual(phrase(101), "Switching Protocols")
        XCTAssertEqual(phrase(200), "OK")
        XCTAssertEqual(phrase(204), "No Content")
        XCTAssertEqual(phrase(304), "Not Modified")
        XCTAssertEqual(phrase(404), "Not Found")
        XCTAssertEqual(phrase(413), "Content Too Large")
        XCTAssertEqual(phrase(422), "Unprocessable Content")
        XCTAssertEqual(phrase(426), "Upgrade Required")
        XCTAssertEqual(phrase(429), "Too Many Requests")
        XCTAssertEqual(phrase(431), "Request Header Fields Too Large")
        XCTAssertEqual(phrase(505), "HTTP Version Not Supported")
    }

    func testUndefinedStatusesHaveTheEmptyPhrase() {
        for status in [0, 102, 299, 418, 499, 599, 1000, -1] {
            XCTAssertEqual(phrase(status), "", "status \(status)")
        }
    }

    func testEveryPhraseIsAValidReasonPhrase() {
        // RFC 9112 §4: reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ); no CR, LF or other controls.
        for status in 100...599 {
            let bytes = Array(phrase(status).utf8)
            XCTAssertFalse(bytes.contains { $0 < 0x20 || $0 == 0x7F }, "status \(status)")
        }
    }
}
