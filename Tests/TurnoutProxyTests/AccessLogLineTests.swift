import Foundation
import TurnoutCore
import TurnoutHTTP1
import XCTest

@testable import TurnoutProxy

/// `AccessLogLine` and `AccessLogText` without sockets: a request's text copied from raw head bytes, the exact
/// line of each format, escaping, and what a request that never reached a target shows.
final class AccessLogLineTests: XCTestCase {
    private var storage: UnsafeMutableRawPointer!
    private var line = AccessLogLine()
    private var buffer: UnsafeMutableRawBufferPointer!

    override func setUp() {
        storage = UnsafeMutableRawPointer.allocate(byteCount: AccessLogText.capacity, alignment: 8)
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: AccessLogLine.capacity, alignment: 8)
    }

    override func tearDown() {
        storage.deallocate()
        buffer.deallocate()
    }

    /// The text `AccessLogText` copies out of `head` (raw bytes, parsed as the worker parses them).
    private func text(of head: String) throws -> AccessLogText {
        let fields = HeaderFieldTable(capacity: 32)
        var text = AccessLogText(storage: storage)
        let bytes = Array(head.utf8)
        try bytes.withUnsafeBytes { source in
            guard case .complete(let parsed) = RequestHeadParser.parse(source, limits: HeadLimits(), fields: fields) else {
                return XCTFail("the head does not parse")
            }
            text.capture(parsed, source: source, fields: fields)
            _ = try XCTUnwrap(text.method.baseAddress)
        }
        return text  // its bytes are copies: the head's buffer is gone
    }

    private func entry(_ text: AccessLogText?, status: UInt16 = 200, routed: Bool = true) -> AccessLogEntry {
        let client = UnsafeRawBufferPointer(start: ("10.0.0.7" as StaticString).utf8Start, count: 8)
        // 2026-11-27T15:10:05.042Z
        return AccessLogEntry(time: 1_795_792_205_042_000_000, client: client, listener: "production",
                              group: routed ? "blue" : nil, target: routed ? "127.0.0.1:3000" : nil, status: status,
                              bytesIn: 93, bytesOut: 1234, duration: 3_456_789, upstreamDuration: routed ? 2_000_500 : nil,
                              retried: routed, text: text)
    }

    private func written(_ entry: AccessLogEntry, _ format: AccessLogFormat) -> String {
        let count = line.write(entry, format: format, into: buffer)
        return String(decoding: UnsafeRawBufferPointer(rebasing: buffer[0..<count]), as: UTF8.self)
    }

    func testCombinedLine() throws {
        let text = try text(of: "GET /a?b=1 HTTP/1.1\r\nHost: x\r\nReferer: http://r/\r\nUser-Agent: curl/8\r\n\r\n")
        XCTAssertEqual(written(entry(text), .combined), """
            10.0.0.7 - - [27/Nov/2026:15:10:05 +0000] "GET /a?b=1 HTTP/1.1" 200 1234 "http://r/" "curl/8" \
            listener=production rule=- group=blue target=127.0.0.1:3000 request_id=- bytes_in=93 duration_ms=3.456 \
            upstream_ms=2.000 retried=1

            """)
    }

    func testARuleThatTookTheRequestIsNamedInBothFormats() throws {
        let text = try text(of: "GET /v1/x HTTP/1.1\r\nHost: api.example.com\r\n\r\n")
        var ruled = entry(text)
        ruled.rule = "api"
        XCTAssertTrue(written(ruled, .combined).contains(" listener=production rule=api group=blue "))
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(written(ruled, .json).utf8)) as? [String: Any])
        XCTAssertEqual(object["rule"] as? String, "api")
    }

    func testJSONLineParsesWithEveryField() throws {
        var text = try text(of: "POST /p HTTP/1.0\r\nHost: x\r\nX-Request-Id: client-7\r\n\r\n")
        XCTAssertEqual(String(decoding: text.requestId!, as: UTF8.self), "client-7")
        text.noteRequestId(UnsafeRawBufferPointer(start: ("abc123" as StaticString).utf8Start, count: 6))
        let json = written(entry(text, status: 502), .json)
        XCTAssertTrue(json.hasSuffix("}\n") && json.filter { $0 == "\n" }.count == 1)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        XCTAssertEqual(object["time"] as? String, "2026-11-27T15:10:05.042Z")
        XCTAssertEqual(object["client"] as? String, "10.0.0.7")
        XCTAssertEqual(object["listener"] as? String, "production")
        XCTAssertTrue(object["rule"] is NSNull)
        XCTAssertEqual(object["method"] as? String, "POST")
        XCTAssertEqual(object["path"] as? String, "/p")
        XCTAssertEqual(object["protocol"] as? String, "HTTP/1.0")
        XCTAssertEqual(object["status"] as? Int, 502)
        XCTAssertEqual(object["bytes_in"] as? Int, 93)
        XCTAssertEqual(object["bytes_out"] as? Int, 1234)
        XCTAssertEqual(object["duration_ms"] as? Double, 3.456)
        XCTAssertEqual(object["upstream_ms"] as? Double, 2.0)
        XCTAssertEqual(object["group"] as? String, "blue")
        XCTAssertEqual(object["target"] as? String, "127.0.0.1:3000")
        XCTAssertEqual(object["request_id"] as? String, "abc123")
        XCTAssertEqual(object["retried"] as? Bool, true)
        XCTAssertTrue(object["referer"] is NSNull && object["user_agent"] is NSNull)
    }

    func testARequestNeverRoutedShowsDashesAndNulls() {
        XCTAssertEqual(written(entry(nil, status: 400, routed: false), .combined), """
            10.0.0.7 - - [27/Nov/2026:15:10:05 +0000] "-" 400 1234 "-" "-" listener=production rule=- group=- \
            target=- request_id=- bytes_in=93 duration_ms=3.456 upstream_ms=- retried=0

            """)
        let json = written(entry(nil, status: 400, routed: false), .json)
        XCTAssertTrue(json.contains(#""method":null,"path":null,"protocol":null,"status":400"#), json)
        XCTAssertTrue(json.contains(#""upstream_ms":null,"group":null,"target":null,"request_id":null,"retried":false"#), json)
    }

    func testTextFromTheClientIsEscapedInBothFormats() throws {
        // A quote, a backslash and obs-text (Latin-1 é) in the User-Agent, which the parser lets through.
        let text = try text(of: "GET /q HTTP/1.1\r\nHost: x\r\nUser-Agent: a\"b\\c\u{E9}\r\n\r\n".unicodeScalars
            .map { String(UnicodeScalar(UInt8(truncatingIfNeeded: $0.value))) }.joined())
        let combined = written(entry(text), .combined)
        XCTAssertTrue(combined.contains(#" "a\x22b\x5cc\xc3\xa9" "#) || combined.contains(#" "a\x22b\x5cc\xe9" "#), combined)
        let json = written(entry(text), .json)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        XCTAssertEqual((object["user_agent"] as? String)?.prefix(5), "a\"b\\c")
    }

    func testLongFieldsAreCutAtTheirShare() throws {
        let target = "/" + String(repeating: "x", count: 2000)
        let text = try text(of: "GET \(target) HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(text.target.count, 512)
        XCTAssertEqual(text.method.count, 3)
    }
}

/// `AccessLogRing`: lines whole or dropped and counted, across the wrap.
final class AccessLogRingTests: XCTestCase {
    private func append(_ ring: AccessLogRing, _ text: String) {
        Array(text.utf8).withUnsafeBytes { ring.append($0) }
    }

    private func take(_ ring: AccessLogRing) -> String {
        let (first, second) = ring.waiting()
        let text = String(decoding: Array(first) + Array(second), as: UTF8.self)
        ring.consume(first.count + second.count)
        return text
    }

    func testLinesAreWholeOrDroppedAndCounted() {
        let ring = AccessLogRing(capacity: 16)
        append(ring, "aaaaa\n")
        append(ring, "bbbbb\n")
        append(ring, "ccccc\n")  // 18 > 16: dropped
        XCTAssertEqual(ring.dropped.load(ordering: .relaxed), 1)
        XCTAssertEqual(take(ring), "aaaaa\nbbbbb\n")
        append(ring, "dddddddd\n")  // wraps past the end
        XCTAssertEqual(ring.waiting().1.count, 5)
        XCTAssertEqual(take(ring), "dddddddd\n")
        XCTAssertEqual(take(ring), "")
        XCTAssertEqual(ring.dropped.load(ordering: .relaxed), 1)
    }
}
