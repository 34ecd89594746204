import TurnoutCore
import XCTest
@testable import TurnoutControl

/// The checks every admin request passes before an endpoint sees it: Host, cross-site, content type.
final class AdminRequestGuardTests: XCTestCase {
    private let loopback = AdminRequestGuard(admin: AdminConfig())
    private let everywhere = AdminRequestGuard(admin: AdminConfig(bind: HostPort(host: "0.0.0.0", port: 9901),
                                                                   tokenFile: "/token", allowedHosts: ["Turnout", "admin.internal"]))
    private let named = AdminRequestGuard(admin: AdminConfig(bind: HostPort(host: "admin.example", port: 9901), tokenFile: "/token"))

    private func request(_ method: String, path: String = "/v1/status", _ headers: [String: String],
                         body: String = "") -> AdminRequest {
        AdminRequest(method: method, path: path,
                     headers: Dictionary(uniqueKeysWithValues: headers.map { ($0.key.lowercased(), $0.value) }),
                     body: Array(body.utf8))
    }

    /// The refusal's status and code, nil when the request passes.
    private func verdict(_ guard: AdminRequestGuard, _ request: AdminRequest, healthz: Bool = false) throws -> String? {
        guard let refusal = `guard`.refusal(for: request, isHealthCheck: healthz) else { return nil }
        let body = try JSONReader.parse(refusal.body)
        guard case .object(let top) = body, case .object(let error)? = top["error"], case .string(let code)? = error["code"]
        else { XCTFail("not the error object: \(body)"); return nil }
        return "\(refusal.status) \(code)"
    }

    func testHostMustNameAnAddressLocalhostTheBindOrAnAllowedName() throws {
        for host in ["127.0.0.1:9901", "127.0.0.1", "localhost:9901", "LOCALHOST", "[::1]:9901", "[::1]", "10.1.2.3:9901"] {
            XCTAssertNil(try verdict(loopback, request("GET", ["Host": host])), host)
        }
        for host in ["evil.example:9901", "evil.example", "localhost.evil.example", "127.0.0.1.evil.example:9901",
                     "sub.localhost:9901", "turnout:9901", "", ":9901", "127.0.0.1:x", "[::1", "[evil.example]:9901",
                     "a@127.0.0.1"] {
            XCTAssertEqual(try verdict(loopback, request("GET", ["Host": host])), "403 host_not_allowed", host)
        }
        // A wildcard bind: any address, and the names the operator listed (case does not matter).
        XCTAssertNil(try verdict(everywhere, request("GET", ["Host": "192.168.1.20:9901"])))
        XCTAssertNil(try verdict(everywhere, request("GET", ["Host": "turnout:9901"])))
        XCTAssertNil(try verdict(everywhere, request("GET", ["Host": "Admin.Internal"])))
        XCTAssertEqual(try verdict(everywhere, request("GET", ["Host": "other.internal:9901"])), "403 host_not_allowed")
        // A bind on a name admits that name.
        XCTAssertNil(try verdict(named, request("GET", ["Host": "admin.example:9901"])))
        XCTAssertEqual(try verdict(named, request("GET", ["Host": "evil.example:9901"])), "403 host_not_allowed")
        // HTTP/1.0 clients may send no Host at all; /healthz is open to any Host.
        XCTAssertNil(try verdict(loopback, request("GET", [:])))
        XCTAssertNil(try verdict(loopback, request("GET", ["Host": "evil.example"]), healthz: true))
    }

    func testCrossSiteChangesAreRefusedAndSameOriginOnesPass() throws {
        let json = ["Host": "127.0.0.1:9901", "Content-Type": "application/json"]
        func post(_ extra: [String: String]) -> AdminRequest {
            request("POST", path: "/v1/switch", json.merging(extra) { $1 }, body: #"{"to":"green"}"#)
        }
        XCTAssertNil(try verdict(loopback, post([:])))  // curl, the CLI, deploy tools: no browser headers
        XCTAssertNil(try verdict(loopback, post(["Sec-Fetch-Site": "same-origin"])))
        XCTAssertNil(try verdict(loopback, post(["Sec-Fetch-Site": "none"])))
        XCTAssertNil(try verdict(loopback, post(["Origin": "http://127.0.0.1:9901"])))
        XCTAssertNil(try verdict(loopback, post(["Sec-Fetch-Site": "same-origin", "Origin": "http://127.0.0.1:9901"])))
        for extra in [["Sec-Fetch-Site": "cross-site"], ["Sec-Fetch-Site": "same-site"],
                      ["Sec-Fetch-Site": "cross-site", "Origin": "http://127.0.0.1:9901"],
                      ["Origin": "https://evil.example"], ["Origin": "http://127.0.0.1:8080"], ["Origin": "null"]] {
            XCTAssertEqual(try verdict(loopback, post(extra)), "403 cross_site_request", "\(extra)")
        }
        for method in ["PUT", "DELETE", "PATCH"] {
            XCTAssertEqual(try verdict(loopback, request(method, ["Host": "127.0.0.1:9901", "Origin": "https://evil.example"])),
                           "403 cross_site_request", method)
        }
        // Reads change nothing and cannot be read across origins without CORS headers, which the API never sends.
        XCTAssertNil(try verdict(loopback, request("GET", ["Host": "127.0.0.1:9901", "Sec-Fetch-Site": "cross-site"])))
    }

    func testABodyMustBeJSON() throws {
        let host = ["Host": "127.0.0.1:9901"]
        for type in ["application/json", "application/json; charset=utf-8", "Application/JSON ;charset=UTF-8"] {
            XCTAssertNil(try verdict(loopback, request("POST", host.merging(["Content-Type": type]) { $1 }, body: "{}")), type)
        }
        for type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                     "application/jsonx", "application/json, text/plain"] {
            XCTAssertEqual(try verdict(loopback, request("POST", host.merging(["Content-Type": type]) { $1 }, body: "{}")),
                           "415 unsupported_media_type", type)
        }
        XCTAssertEqual(try verdict(loopback, request("PUT", host, body: "{}")), "415 unsupported_media_type")
        // No body, no content type needed (DELETE, and reads).
        XCTAssertNil(try verdict(loopback, request("DELETE", host)))
        XCTAssertNil(try verdict(loopback, request("POST", host.merging(["Content-Type": "text/plain"]) { $1 })))
    }

    func testTheMessagesSayWhatToDo() throws {
        let refusal = try XCTUnwrap(loopback.refusal(for: request("GET", ["Host": "evil.example:9901"]), isHealthCheck: false))
        XCTAssertEqual(String(decoding: refusal.body, as: UTF8.self),
                       #"{"error":{"code":"host_not_allowed","message":"the Host header 'evil.example:9901' names neither an IP address, localhost nor a name in admin.allowed_hosts"}}"# + "\n")
        let media = try XCTUnwrap(loopback.refusal(for: request("POST", ["Content-Type": "text/plain"], body: "{}"), isHealthCheck: false))
        XCTAssertEqual(String(decoding: media.body, as: UTF8.self),
                       #"{"error":{"code":"unsupported_media_type","message":"a request body must be sent with Content-Type: application/json (got 'text/plain')"}}"# + "\n")
    }
}
