import TurnoutCore
import TurnoutHTTP1
import XCTest
@testable import TurnoutProxy

/// A route's stickiness and forced group compiled and read against raw request heads: which position a cookie or
/// header pins, what is ignored, and the exact Set-Cookie line.
final class AffinityMatcherTests: XCTestCase {
    private let both = RouteAffinity(stickiness: .init(cookie: "turnout-group", duration: .seconds(3600)),
                                     forceGroup: .init(header: "X-Turnout-Group", cookie: "turnout-force"))

    /// (forced position, sticky position) for `head` on a route over blue and green with `weights`.
    private func positions(_ head: String, weights: [Int] = [90, 10], affinity: RouteAffinity? = nil) throws -> [Int?] {
        let matcher = try XCTUnwrap(AffinityMatcher(affinity ?? both, groupNames: ["blue", "green"], weights: weights))
        let fields = HeaderFieldTable(capacity: 32)
        return try Array(head.utf8).withUnsafeBytes { source in
            guard case .complete = RequestHeadParser.parse(source, limits: HeadLimits(), fields: fields) else {
                throw XCTSkip("unparsable head: \(head)")
            }
            return [matcher.forcedPosition(fields, source: source), matcher.stickyPosition(fields, source: source)]
        }
    }

    func testCookiesAndTheForceHeaderPinTheGroupsTheyName() throws {
        let get = "GET / HTTP/1.1\r\nHost: a\r\n"
        XCTAssertEqual(try positions(get + "\r\n"), [nil, nil])
        XCTAssertEqual(try positions(get + "Cookie: turnout-group=green\r\n\r\n"), [nil, 1])
        XCTAssertEqual(try positions(get + "Cookie: a=b;turnout-group=blue; c=d\r\n\r\n"), [nil, 0])
        XCTAssertEqual(try positions(get + "Cookie: a=b\r\nCookie: turnout-group=green\r\n\r\n"), [nil, 1])
        // Names and values compared exactly; a group of no weight, or a route not split, pins nothing.
        XCTAssertEqual(try positions(get + "Cookie: turnout-group=Green; Turnout-Group=green\r\n\r\n"), [nil, nil])
        XCTAssertEqual(try positions(get + "Cookie: turnout-group=green\r\n\r\n", weights: [100, 0]), [nil, nil])
        XCTAssertEqual(try positions(get + "Cookie: turnout-group=green\r\n\r\n", weights: [0, 100]), [nil, nil])
        XCTAssertEqual(try positions(get + "Cookie: turnout-group=\r\n\r\n"), [nil, nil])
        // Forced: the header (its name's case ignored) or the cookie, weight or not.
        XCTAssertEqual(try positions(get + "x-turnout-group: green\r\n\r\n", weights: [100, 0]), [1, nil])
        XCTAssertEqual(try positions(get + "Cookie: turnout-force=green\r\n\r\n", weights: [100, 0]), [1, nil])
        XCTAssertEqual(try positions(get + "X-Turnout-Group: purple\r\n\r\n"), [nil, nil])
        let cookieOnly = RouteAffinity(forceGroup: .init(cookie: "turnout-force"))
        XCTAssertEqual(try positions(get + "X-Turnout-Group: green\r\n\r\n", affinity: cookieOnly), [nil, nil])
    }

    func testTheSetCookieLineNamesTheGroup() throws {
        let matcher = try XCTUnwrap(AffinityMatcher(both, groupNames: ["blue", "green"], weights: [90, 10]))
        XCTAssertTrue(matcher.setsCookie)
        XCTAssertEqual(String(decoding: matcher.setCookieLine(1), as: UTF8.self),
                       "Set-Cookie: turnout-group=green; Max-Age=3600; Path=/; HttpOnly\r\n")
        XCTAssertFalse(try XCTUnwrap(AffinityMatcher(both, groupNames: ["blue", "green"], weights: [100, 0])).setsCookie)
        XCTAssertNil(AffinityMatcher(.none, groupNames: ["blue"], weights: [100]))
    }
}
