import TurnoutCore
import XCTest

final class HostPortTests: XCTestCase {
    func testParsesTheDocumentedForms() {
        XCTAssertEqual(HostPort.parse("0.0.0.0:8080"), HostPort(host: "0.0.0.0", port: 8080))
        XCTAssertEqual(HostPort.parse("127.0.0.1:3000"), HostPort(host: "127.0.0.1", port: 3000))
        XCTAssertEqual(HostPort.parse("[::1]:8080"), HostPort(host: "::1", port: 8080))
        XCTAssertEqual(HostPort.parse("localhost:3000"), HostPort(host: "localhost", port: 3000))
        XCTAssertEqual(HostPort.parse(":8080"), HostPort(host: "0.0.0.0", port: 8080))
    }

    func testParsesOtherValidForms() {
        XCTAssertEqual(HostPort.parse("[::]:80"), HostPort(host: "::", port: 80))
        XCTAssertEqual(HostPort.parse("[fe80::1%eth0]:80"), HostPort(host: "fe80::1%eth0", port: 80))
        XCTAssertEqual(HostPort.parse("[::ffff:10.0.0.1]:80"), HostPort(host: "::ffff:10.0.0.1", port: 80))
        XCTAssertEqual(HostPort.parse("blue-1.internal_net.example:65535"), HostPort(host: "blue-1.internal_net.example", port: 65535))
        XCTAssertEqual(HostPort.parse("127.0.0.1:0"), HostPort(host: "127.0.0.1", port: 0))
    }

    func testRefusesMalformedText() {
        let bad = [
            "", "8080", "localhost", "localhost:", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:80a", "127.0.0.1:123456",
            "::1:8080", "[::1]8080", "[::1]:", "[127.0.0.1]:80", "[]:80", "[::1:80", "256.0.0.1:80", "1.2.3:80",
            "1.2.3.4.5:80", "host name:80", "a..b:80", ".a:80", "a.:80", "http://a:80", "a/b:80",
        ]
        for text in bad {
            XCTAssertNil(HostPort.parse(text), "'\(text)' should be refused")
        }
    }

    func testDescriptionBracketsIPv6AndRoundTrips() {
        XCTAssertEqual(HostPort(host: "::1", port: 8080).description, "[::1]:8080")
        XCTAssertEqual(HostPort(host: "127.0.0.1", port: 3000).description, "127.0.0.1:3000")
        for text in ["0.0.0.0:8080", "[::1]:8080", "localhost:3000"] {
            XCTAssertEqual(HostPort.parse(text)?.description, text)
        }
    }

    func testClassifiesWildcardAndLoopback() {
        XCTAssertTrue(HostPort(host: "0.0.0.0", port: 1).isWildcard)
        XCTAssertTrue(HostPort(host: "::", port: 1).isWildcard)
        XCTAssertFalse(HostPort(host: "127.0.0.1", port: 1).isWildcard)
        XCTAssertTrue(HostPort(host: "127.0.0.1", port: 1).isLoopback)
        XCTAssertTrue(HostPort(host: "127.1.2.3", port: 1).isLoopback)
        XCTAssertTrue(HostPort(host: "::1", port: 1).isLoopback)
        XCTAssertTrue(HostPort(host: "localhost", port: 1).isLoopback)
        XCTAssertFalse(HostPort(host: "127.example", port: 1).isLoopback)
        XCTAssertFalse(HostPort(host: "0.0.0.0", port: 1).isLoopback)
        XCTAssertFalse(HostPort(host: "10.0.0.1", port: 1).isLoopback)
    }
}
