import Foundation
import XCTest
@testable import TurnoutControl

/// The dashboard's files as the admin API serves them: the embedded text is `dashboard/`'s, each file has its
/// media type and the page's security headers, they stay within the size budget, and they need no token while
/// the API behind them does.
final class DashboardAssetsTests: XCTestCase {
    private var harness: ControlPlaneHarness!

    override func setUpWithError() throws {
        let directory = StateTestDirectory()
        harness = try ControlPlaneHarness(yaml: ControlPlaneHarness.yaml(stateDir: directory.path), directory: directory,
                                          token: "s3cret")
    }

    override func tearDown() {
        harness.directory.remove()
        harness = nil
        super.tearDown()
    }

    private static let dashboardDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("dashboard")

    /// `scripts/embed-dashboard.py` was run after the last change to `dashboard/`.
    func testTheEmbeddedFilesAreDashboardsFilesByteForByte() throws {
        let onDisk = try FileManager.default.contentsOfDirectory(atPath: Self.dashboardDirectory.path).sorted()
        XCTAssertEqual(DashboardAssets.files.map(\.name).sorted(), onDisk, "run scripts/embed-dashboard.py")
        for file in DashboardAssets.files {
            let bytes = try Data(contentsOf: Self.dashboardDirectory.appendingPathComponent(file.name))
            XCTAssertEqual(Array(file.text.utf8), Array(bytes), "\(file.name) changed: run scripts/embed-dashboard.py")
        }
    }

    func testEachFileIsServedWithItsMediaTypeAndTheSecurityHeaders() {
        let expected = [
            "/ui/": ("index.html", "text/html; charset=utf-8"),
            "/ui/index.html": ("index.html", "text/html; charset=utf-8"),
            "/ui/dashboard.css": ("dashboard.css", "text/css; charset=utf-8"),
            "/ui/dashboard.js": ("dashboard.js", "text/javascript; charset=utf-8"),
        ]
        for (path, (name, contentType)) in expected {
            let response = harness.plane.handle(AdminRequest(method: "GET", path: path, headers: ["host": "127.0.0.1:9901"]))
            XCTAssertEqual(response.status, 200, path)
            XCTAssertEqual(header(response, "Content-Type"), contentType, path)
            XCTAssertEqual(response.body, Array(DashboardAssets.files.first { $0.name == name }!.text.utf8), path)
            XCTAssertEqual(header(response, "Content-Security-Policy"),
                           "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
                               + "base-uri 'none'; form-action 'self'; frame-ancestors 'none'", path)
            XCTAssertEqual(header(response, "X-Frame-Options"), "DENY", path)
            XCTAssertEqual(header(response, "X-Content-Type-Options"), "nosniff", path)
        }
    }

    func testThePageAndItsAssetsStayUnderTheSizeBudget() {
        let total = DashboardAssets.files.reduce(0) { $0 + $1.text.utf8.count }
        XCTAssertEqual(Dashboard.sizeBudget, 100 * 1024)
        XCTAssertLessThan(total, Dashboard.sizeBudget, "the dashboard's files weigh \(total) bytes")
    }

    /// Every file the page loads is one the server has (and the page loads nothing from elsewhere).
    func testThePageLoadsOnlyFilesTheServerHas() throws {
        let page = DashboardAssets.files.first { $0.name == "index.html" }!.text
        let references = try NSRegularExpression(pattern: #"(?:src|href)="([^"]*)""#)
            .matches(in: page, range: NSRange(page.startIndex..., in: page))
            .map { String(page[Range($0.range(at: 1), in: page)!]) }
        XCTAssertEqual(references.sorted(), ["dashboard.css", "dashboard.js"])
        for reference in references {
            XCTAssertEqual(harness.send("GET", "/ui/" + reference, ).status, 200, reference)
        }
    }

    func testTheFilesNeedNoTokenAndTheAPIStillDoes() {
        XCTAssertEqual(harness.send("GET", "/ui/").status, 200)
        let refused = harness.send("GET", "/v1/status")
        XCTAssertEqual(refused.status, 401)
        XCTAssertEqual(refused.errorCode, "unauthorized")
        XCTAssertEqual(harness.send("GET", "/v1/status", headers: ["authorization": "Bearer s3cret"]).status, 200)
    }

    func testOtherPathsAndMethodsAreRefusedAsTheAPIRefusesThem() {
        let bare = harness.plane.handle(AdminRequest(method: "GET", path: "/ui", headers: ["host": "127.0.0.1:9901"]))
        XCTAssertEqual(bare.status, 308)
        XCTAssertEqual(header(bare, "Location"), "/ui/")
        let missing = harness.send("GET", "/ui/secrets.json")
        XCTAssertEqual(missing.status, 404)
        XCTAssertEqual(missing.errorCode, "not_found")
        let posted = harness.send("POST", "/ui/", "{}")
        XCTAssertEqual(posted.status, 405)
        XCTAssertEqual(posted.errorCode, "method_not_allowed")
        XCTAssertEqual(posted.header("Allow"), "GET, HEAD")
        // The request guard comes first, as for the API: a rebound name is refused.
        let rebound = harness.plane.handle(AdminRequest(method: "GET", path: "/ui/", headers: ["host": "evil.example"]))
        XCTAssertEqual(rebound.status, 403)
    }

    private func header(_ response: AdminResponse, _ name: String) -> String? {
        response.headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}
