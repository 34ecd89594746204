import TurnoutCore
import XCTest

final class StatusMatcherTests: XCTestCase {
    func testSingleCode() throws {
        let matcher = try XCTUnwrap(StatusMatcher.parse("200"))
        XCTAssertTrue(matcher.matches(200))
        XCTAssertFalse(matcher.matches(201))
        XCTAssertFalse(matcher.matches(199))
    }

    func testRangeIsInclusive() throws {
        let matcher = try XCTUnwrap(StatusMatcher.parse("200-399"))
        XCTAssertTrue(matcher.matches(200))
        XCTAssertTrue(matcher.matches(302))
        XCTAssertTrue(matcher.matches(399))
        XCTAssertFalse(matcher.matches(199))
        XCTAssertFalse(matcher.matches(400))
    }

    func testList() throws {
        let matcher = try XCTUnwrap(StatusMatcher.parse("200,204,300-302"))
        XCTAssertEqual((100...599).filter(matcher.matches), [200, 204, 300, 301, 302])
        XCTAssertEqual(StatusMatcher.parse("200, 204 ,300-302"), matcher)
    }

    func testDefaultIsSuccessOrRedirect() {
        XCTAssertEqual(StatusMatcher.successOrRedirect, StatusMatcher.parse("200-399"))
        XCTAssertEqual(HealthCheckConfig().matcher, StatusMatcher.parse("200-399"))
    }

    func testRefusesMalformedText() {
        for text in ["", "2OO", "99", "600", "1000", "20", "399-200", "200-", "-200", "200-300-400", "200,", ",200", "200;204", "abc"] {
            XCTAssertNil(StatusMatcher.parse(text), "'\(text)' should be refused")
        }
    }

    func testDescriptionRoundTrips() {
        for text in ["200", "200-399", "200,204,300-302"] {
            XCTAssertEqual(StatusMatcher.parse(text)?.description, text)
        }
    }
}
