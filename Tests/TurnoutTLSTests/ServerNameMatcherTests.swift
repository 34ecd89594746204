import TurnoutTLS
import XCTest

final class ServerNameMatcherTests: XCTestCase {
    let matcher = ServerNameMatcher(names: [
        ["a.example.com", "www.a.example.com"],
        ["*.example.com"],
        ["b.example.com", "*.b.example.com"],
        ["a.example.com"],
    ])

    func testExactNameIsServedByItsCertificate() {
        XCTAssertEqual(matcher.match("a.example.com"), 0)
        XCTAssertEqual(matcher.match("www.a.example.com"), 0)
        XCTAssertEqual(matcher.match("b.example.com"), 2)
    }

    func testExactNameWinsOverAnEarlierWildcard() {
        XCTAssertEqual(matcher.match("b.example.com"), 2)
    }

    func testWildcardCoversExactlyOneLabel() {
        XCTAssertEqual(matcher.match("c.example.com"), 1)
        XCTAssertEqual(matcher.match("x.b.example.com"), 2)
        XCTAssertNil(matcher.match("example.com"))
        XCTAssertNil(matcher.match(".example.com"))
        XCTAssertEqual(matcher.match("x.y.example.com"), nil)
    }

    func testNamesCompareWithoutCase() {
        XCTAssertEqual(matcher.match("A.Example.COM"), 0)
        XCTAssertEqual(matcher.match("C.EXAMPLE.com"), 1)
    }

    func testTheEarlierCertificateServesANameTwoHave() {
        XCTAssertEqual(matcher.match("a.example.com"), 0)
    }

    func testUnknownNameMatchesNothing() {
        XCTAssertNil(matcher.match("example.org"))
        XCTAssertNil(matcher.match(""))
        XCTAssertNil(matcher.match("a.example.com.evil"))
    }
}
