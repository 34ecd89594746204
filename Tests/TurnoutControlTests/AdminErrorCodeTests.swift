import Foundation
import XCTest
import Yams
@testable import TurnoutControl

/// The API's error codes and the OpenAPI description list the same codes.
final class AdminErrorCodeTests: XCTestCase {
    private func documentedCodes() throws -> Set<String> {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("openapi/turnout-admin.yaml").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let spec = try XCTUnwrap(try Yams.load(yaml: text) as? [String: Any])
        let schemas = try XCTUnwrap((spec["components"] as? [String: Any])?["schemas"] as? [String: Any])
        let error = try XCTUnwrap(((schemas["Error"] as? [String: Any])?["properties"] as? [String: Any])?["error"] as? [String: Any])
        let code = try XCTUnwrap((error["properties"] as? [String: Any])?["code"] as? [String: Any])
        return Set(try XCTUnwrap(code["enum"] as? [String]))
    }

    func testEveryCodeTheAPIAnswersIsDocumentedAndNoOther() throws {
        XCTAssertEqual(try documentedCodes(), Set(AdminErrorCode.allCases.map(\.rawValue)))
    }
}
