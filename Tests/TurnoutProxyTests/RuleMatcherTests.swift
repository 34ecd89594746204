import TurnoutCore
import TurnoutHTTP1
import XCTest
@testable import TurnoutProxy

/// The rules of `rulesYAML` (the items of a `rules:` list, indented by 6) on a listener forwarding to blue, with
/// groups blue and green: compiled, and their names.
func compiledRules(_ rulesYAML: String) throws -> (RuleMatcher, [String]) {
    let config = try ConfigLoader.parse(yaml: """
        listeners:
          production:
            bind: 0.0.0.0:8080
            forward: { blue: 100 }
            rules:
        \(rulesYAML)
        target_groups: { blue: {}, green: {} }
        """)
    let table = RoutingTable(config: config, generation: 1)
    return (RuleMatcher(table.listeners[0].rules), table.listeners[0].rules.map(\.name))
}

/// A listener's rules compiled and matched against raw request heads: which rule takes each request, what a
/// path's `*` covered, and the exact bytes of the answers rules give by themselves.
final class RuleMatcherTests: XCTestCase {
    private func matcher(_ rulesYAML: String) throws -> (RuleMatcher, [String]) { try compiledRules(rulesYAML) }

    /// Parses `head` and runs `body` with the request the rules see (from `peer`, an IPv4-mapped address).
    private func withRequest<R>(_ head: String, peer: (UInt64, UInt64) = (0, 0xffff_7f00_0001),
                                _ body: (RuleRequest) throws -> R) throws -> R {
        let fields = HeaderFieldTable(capacity: 32)
        let bytes = Array(head.utf8)
        return try bytes.withUnsafeBytes { source in
            guard case .complete(let parsed) = RequestHeadParser.parse(source, limits: HeadLimits(), fields: fields) else {
                throw XCTSkip("unparsable head: \(head)")
            }
            return try body(RuleRequest(head: parsed, fields: fields, source: source, peerHigh: peer.0, peerLow: peer.1))
        }
    }

    /// The name of the rule that takes `head` ("default" when none does) and the text the path's `*` covered.
    private func taker(_ matcher: (RuleMatcher, [String]), _ head: String,
                       peer: (UInt64, UInt64) = (0, 0xffff_7f00_0001)) throws -> String {
        try withRequest(head, peer: peer) { request in
            guard let hit = matcher.0.match(request) else { return "default" }
            let capture = request.source.slice(hit.pathCapture)
            return capture.isEmpty ? matcher.1[hit.rule] : "\(matcher.1[hit.rule]) {\(String(decoding: capture, as: UTF8.self))}"
        }
    }

    func testEachKindOfConditionAndTheirOrder() throws {
        let rules = try matcher("""
                - { name: api, match: { host: api.example.com, path: "/v1/*" }, forward: { green: 100 } }
                - { name: docs, match: { host: "*.docs.example.com" }, forward: { green: 100 } }
                - { name: beta, match: { header: { X-Env: [beta, "canary-*"] } }, forward: { green: 100 } }
                - { name: deletes, match: { method: DELETE }, forward: { green: 100 } }
                - { name: v2, match: { query: { version: "2*" } }, forward: { green: 100 } }
                - { name: office, match: { source: 10.1.0.0/16 }, forward: { green: 100 } }
                - { name: one, match: { host: "h?.example.com" }, forward: { green: 100 } }
                - { name: anywhere-v1, match: { path: "/v1/*" }, forward: { green: 100 } }
            """)
        let cases: [(head: String, taker: String)] = [
            ("GET /v1/users?x=1 HTTP/1.1\r\nHost: api.example.com\r\n\r\n", "api {users}"),
            // Host case and port ignored; absolute form's authority wins over Host.
            ("GET /v1/a/b HTTP/1.1\r\nHost: API.Example.COM:8080\r\n\r\n", "api {a/b}"),
            ("GET http://api.example.com/v1/x HTTP/1.1\r\nHost: other.example.com\r\n\r\n", "api {x}"),
            // Both conditions must hold: the host alone is not enough, the path alone takes a later rule.
            ("GET /v2/users HTTP/1.1\r\nHost: api.example.com\r\n\r\n", "default"),
            ("GET /v1/users HTTP/1.1\r\nHost: www.example.com\r\n\r\n", "anywhere-v1 {users}"),
            ("GET / HTTP/1.1\r\nHost: en.docs.example.com\r\n\r\n", "docs"),
            ("GET / HTTP/1.1\r\nHost: docs.example.com\r\n\r\n", "default"),
            ("GET / HTTP/1.1\r\nHost: a\r\nx-env: BETA\r\n\r\n", "beta"),
            ("GET / HTTP/1.1\r\nHost: a\r\nX-Env: canary-7\r\n\r\n", "beta"),
            ("GET / HTTP/1.1\r\nHost: a\r\nX-Env: gamma\r\n\r\n", "default"),
            ("DELETE /x HTTP/1.1\r\nHost: a\r\n\r\n", "deletes"),
            ("delete /x HTTP/1.1\r\nHost: a\r\n\r\n", "default"),
            ("GET /x?a=1&version=2.1 HTTP/1.1\r\nHost: a\r\n\r\n", "v2"),
            ("GET /x?version=3&a=2 HTTP/1.1\r\nHost: a\r\n\r\n", "default"),
            ("GET /x?versions=2 HTTP/1.1\r\nHost: a\r\n\r\n", "default"),
            ("GET / HTTP/1.1\r\nHost: h1.example.com\r\n\r\n", "one"),
            ("GET / HTTP/1.1\r\nHost: h12.example.com\r\n\r\n", "default"),
            // The first rule that matches wins: a beta header on api's host and path goes to api.
            ("GET /v1/z HTTP/1.1\r\nHost: api.example.com\r\nX-Env: beta\r\n\r\n", "api {z}"),
        ]
        for (head, expected) in cases {
            XCTAssertEqual(try taker(rules, head), expected, head.debugDescription)
        }
        XCTAssertEqual(try taker(rules, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", peer: (0, 0xffff_0a01_0909)), "office")
        XCTAssertEqual(try taker(rules, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", peer: (0, 0xffff_0a02_0909)), "default")
    }

    /// Rules indexed by their exact hosts, by their `*.` suffixes, and left to the scan (no host, another wildcard)
    /// interleaved: the first that matches still wins, whichever of them it is.
    func testTheHostIndexKeepsTheRulesOrder() throws {
        let rules = try matcher("""
                - { name: first-path, match: { path: "/first/*" }, forward: { green: 100 } }
                - { name: api-v1, match: { host: api.example.com, path: "/v1/*" }, forward: { green: 100 } }
                - { name: any-post, match: { host: "*.example.com", method: POST }, forward: { green: 100 } }
                - { name: a-i, match: { host: "a?i.example.com", path: "/v2/*" }, forward: { green: 100 } }
                - { name: api, match: { host: API.Example.com }, forward: { green: 100 } }
                - { name: www, match: { host: [www.example.com, "*.WWW.example.com"] }, forward: { green: 100 } }
                - { name: beta, match: { header: { X-Env: beta } }, forward: { green: 100 } }
                - { name: late, match: { host: late.example.com }, forward: { green: 100 } }
            """)
        let index = rules.0.hostIndex
        XCTAssertEqual(Array(index.unindexed[0..<index.unindexedCount]), [0, 3, 6])
        let cases: [(head: String, taker: String)] = [
            // A rule without a host condition before the host's indexed rules.
            ("GET /first/x HTTP/1.1\r\nHost: api.example.com\r\n\r\n", "first-path {x}"),
            // Case and port ignored; the host's first indexed rule whose other conditions hold.
            ("GET /v1/x HTTP/1.1\r\nHost: API.EXAMPLE.COM:8080\r\n\r\n", "api-v1 {x}"),
            ("GET /v3 HTTP/1.1\r\nHost: api.example.com\r\n\r\n", "api"),
            // A suffix's rule before the exact host's; a scanned wildcard rule before the exact host's.
            ("POST /v3 HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: 0\r\n\r\n", "any-post"),
            ("POST /v1/x HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: 0\r\n\r\n", "api-v1 {x}"),
            ("GET /v2/x HTTP/1.1\r\nHost: api.example.com\r\n\r\n", "a-i {x}"),
            ("GET /v2/x HTTP/1.1\r\nHost: aXi.example.com\r\n\r\n", "a-i {x}"),
            // Every suffix of the host is looked up: the longer one's rule, then the shorter one's when it is first.
            ("GET / HTTP/1.1\r\nHost: a.b.www.example.com\r\n\r\n", "www"),
            ("GET / HTTP/1.1\r\nHost: Www.Example.Com\r\n\r\n", "www"),
            ("POST / HTTP/1.1\r\nHost: a.www.example.com\r\nContent-Length: 0\r\n\r\n", "any-post"),
            // `*` also matches nothing; the suffix's dot belongs to it.
            ("POST / HTTP/1.1\r\nHost: .example.com\r\nContent-Length: 0\r\n\r\n", "any-post"),
            ("POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 0\r\n\r\n", "default"),
            ("POST / HTTP/1.1\r\nHost: xexample.com\r\nContent-Length: 0\r\n\r\n", "default"),
            // A rule left to the scan before a later indexed one.
            ("GET / HTTP/1.1\r\nHost: late.example.com\r\nX-Env: beta\r\n\r\n", "beta"),
            ("GET / HTTP/1.1\r\nHost: lATE.example.COM\r\n\r\n", "late"),
            // A trailing dot makes another host, as for the patterns tried in turn.
            ("GET / HTTP/1.1\r\nHost: late.example.com.\r\n\r\n", "default"),
            ("GET / HTTP/1.1\r\nHost: ate.example.com\r\n\r\n", "default"),
            ("GET / HTTP/1.0\r\n\r\n", "default"),
        ]
        for (head, expected) in cases {
            XCTAssertEqual(try taker(rules, head), expected, head.debugDescription)
        }
    }

    /// A hundred host rules, one of them a wildcard the index leaves to the scan: each host finds its own rule,
    /// unless the wildcard rule before it matches.
    func testManyHostRules() throws {
        let yaml = (0..<100).map { index in
            let host = index == 50 ? "h5?.example" : "h\(index).example"
            return "    - { name: r\(index), match: { host: \"\(host)\" }, forward: { green: 100 } }"
        }.joined(separator: "\n")
        let rules = try matcher(yaml)
        XCTAssertEqual(rules.0.hostIndex.unindexedCount, 1)
        let cases: [(host: String, taker: String)] = [
            ("h99.example", "r99"), ("h0.example", "r0"), ("H7.EXAMPLE:80", "r7"), ("h49.example", "r49"),
            ("h55.example", "r50"), ("h50.example", "r50"), ("h5.example", "r5"), ("h100.example", "default"),
            ("h99.example.org", "default"), ("99.example", "default"),
        ]
        for (host, expected) in cases {
            XCTAssertEqual(try taker(rules, "GET / HTTP/1.1\r\nHost: \(host)\r\n\r\n"), expected, host)
        }
    }

    func testWildcardsCaptureWhatTheFirstStarCovered() {
        func capture(_ pattern: String, _ text: String) -> String? {
            let pattern = Array(pattern.utf8), text = Array(text.utf8)
            let star = pattern.firstIndex(of: UInt8(ascii: "*")) ?? -1
            return pattern.withUnsafeBytes { p in
                text.withUnsafeBytes { t in
                    Wildcard.matches(p, t, ignoringCase: false, firstStar: star).map {
                        String(decoding: t.slice($0), as: UTF8.self)
                    }
                }
            }
        }
        XCTAssertEqual(capture("/old/*", "/old/a/b"), "a/b")
        XCTAssertEqual(capture("/old/*", "/old/"), "")
        XCTAssertNil(capture("/old/*", "/old"))
        XCTAssertEqual(capture("/*/x/*", "/a/b/x/c"), "a/b")
        XCTAssertEqual(capture("*.png", "/img/a.png"), "/img/a")
        XCTAssertNil(capture("*.png", "/img/a.png.txt"))
        XCTAssertEqual(capture("/a?c", "/abc"), "")
        XCTAssertNil(capture("/a?c", "/ac"))
        XCTAssertEqual(capture("**", ""), "")
    }

    func testFixedResponsesAndRedirectsAreTheExactBytes() throws {
        let rules = try matcher("""
                - { name: down, match: { path: "/admin/*" }, fixed_response: { status: 503, content_type: text/plain, body: "back soon" } }
                - { name: old, match: { path: "/old/*" }, redirect: { path: "/new/{path}", status: 301 } }
                - { name: moved, match: { host: "old.example.com" }, redirect: { host: "new.example.com", port: 8443, query: "from=old", status: 308 } }
                - { name: same, match: { path: "/same" }, redirect: { host: "{host}", path: "/x/{host}", query: "", status: 302 } }
            """)
        func answer(_ head: String, closing: Bool = true) throws -> String {
            try withRequest(head) { request in
                let hit = try XCTUnwrap(rules.0.match(request))
                XCTAssertFalse(rules.0.forwards(hit.rule))
                var output = [UInt8](repeating: 0, count: 512)
                let written = try output.withUnsafeMutableBytes { out in
                    try XCTUnwrap(rules.0.writeAnswer(rule: hit.rule, request, pathCapture: hit.pathCapture,
                                                      headOnly: head.hasPrefix("HEAD"), closing: closing, into: out))
                }
                return String(decoding: output[..<written], as: UTF8.self)
            }
        }
        XCTAssertEqual(try answer("GET /admin/x HTTP/1.1\r\nHost: a\r\n\r\n"),
                       "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 9\r\nConnection: close\r\n\r\nback soon")
        XCTAssertEqual(try answer("GET /admin/x HTTP/1.1\r\nHost: a\r\n\r\n", closing: false),
                       "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nback soon")
        XCTAssertEqual(try answer("HEAD /admin/x HTTP/1.1\r\nHost: a\r\n\r\n"),
                       "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 9\r\nConnection: close\r\n\r\n")
        XCTAssertEqual(try answer("GET /old/a/b?q=1 HTTP/1.1\r\nHost: www.example.com:8080\r\n\r\n", closing: false),
                       "HTTP/1.1 301 Moved Permanently\r\nLocation: /new/a/b?q=1\r\nContent-Length: 0\r\n\r\n")
        XCTAssertEqual(try answer("GET /p?q=1 HTTP/1.1\r\nHost: old.example.com\r\n\r\n"),
                       "HTTP/1.1 308 Permanent Redirect\r\nLocation: http://new.example.com:8443/p?from=old\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        XCTAssertEqual(try answer("GET /same?q=1 HTTP/1.1\r\nHost: Www.Example.com:81\r\n\r\n"),
                       "HTTP/1.1 302 Found\r\nLocation: http://Www.Example.com/x/Www.Example.com\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        // An answer that does not fit is nil, never a cut response.
        try withRequest("GET /old/a HTTP/1.1\r\nHost: a\r\n\r\n") { request in
            let hit = try XCTUnwrap(rules.0.match(request))
            var small = [UInt8](repeating: 0, count: 40)
            XCTAssertNil(small.withUnsafeMutableBytes {
                rules.0.writeAnswer(rule: hit.rule, request, pathCapture: hit.pathCapture, headOnly: false, closing: true, into: $0)
            })
        }
    }
}
