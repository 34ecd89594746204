import TurnoutHTTP1
import XCTest

final class HTTPSRedirectTests: XCTestCase {
    private func redirect(_ request: String, port: UInt16 = 443, capacity: Int = 4096,
                          file: StaticString = #filePath, line: UInt = #line) -> String? {
        let parsed = parseRequest(request)
        guard let head = parsed.head else {
            XCTFail("request did not parse: \(parsed.result)", file: file, line: line)
            return nil
        }
        var out = [UInt8](repeating: 0, count: capacity)
        let written = parsed.bytes.withUnsafeBytes { source in
            out.withUnsafeMutableBytes { HTTPSRedirect.write(head, source: source, port: port, into: $0) }
        }
        return written.map { String(decoding: out[0..<$0], as: UTF8.self) }
    }

    private func answer(_ location: String) -> String {
        "HTTP/1.1 301 Moved Permanently\r\nLocation: \(location)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    }

    func testPathAndQueryAreKeptAndTheHostLosesItsPort() {
        XCTAssertEqual(redirect("GET /a/b?x=1&y=%20 HTTP/1.1\r\nHost: app.example:8080\r\n\r\n"),
                       answer("https://app.example/a/b?x=1&y=%20"))
    }

    func testAnotherPortThan443IsNamed() {
        XCTAssertEqual(redirect("GET / HTTP/1.1\r\nHost: app.example\r\n\r\n", port: 8443),
                       answer("https://app.example:8443/"))
    }

    func testIPv6LiteralKeepsItsBrackets() {
        XCTAssertEqual(redirect("GET /x HTTP/1.1\r\nHost: [2001:db8::1]:80\r\n\r\n"), answer("https://[2001:db8::1]/x"))
        XCTAssertEqual(redirect("GET /x HTTP/1.1\r\nHost: [2001:db8::1]\r\n\r\n"), answer("https://[2001:db8::1]/x"))
    }

    func testAbsoluteFormUsesItsAuthority() {
        XCTAssertEqual(redirect("GET http://other.example:81/p?q HTTP/1.1\r\nHost: app.example\r\n\r\n"),
                       answer("https://other.example/p?q"))
    }

    func testNoHostWritesNothing() {
        XCTAssertNil(redirect("GET / HTTP/1.0\r\n\r\n"))
    }

    func testAnAnswerThatDoesNotFitWritesNothing() {
        XCTAssertNil(redirect("GET /\(String(repeating: "a", count: 200)) HTTP/1.1\r\nHost: a\r\n\r\n", capacity: 100))
    }
}
