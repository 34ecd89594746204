import Foundation
import XCTest
@testable import TurnoutControl

final class PersistedStateCodingTests: XCTestCase {
    func testKeysAreSnakeCaseAndDeploymentIsExplicitNull() throws {
        let object = try JSONSerialization.jsonObject(with: Data(sampleState().jsonValue.jsonBytes)) as! [String: Any]
        XCTAssertEqual(Set(object.keys), ["generation", "listeners", "target_groups", "draining", "audit", "idempotency", "deployment",
                                          "journal_sequence"])
        XCTAssertTrue(object["deployment"] is NSNull)
        let audit = (object["audit"] as! [[String: Any]])[0]
        XCTAssertEqual(Set(audit.keys), ["id", "time", "action", "caller", "generation_before", "generation_after", "request", "diff"])
        let record = (object["idempotency"] as! [[String: Any]])[0]
        XCTAssertEqual(Set(record.keys), ["key", "method", "path", "request_hash", "status", "body", "time"])
        let drain = (object["draining"] as! [[String: Any]])[0]
        XCTAssertEqual(Set(drain.keys), ["group", "target", "until"])
        let production = (object["listeners"] as! [String: Any])["production"] as! [[String: Any]]
        XCTAssertEqual(production.map { $0["group"] as? String }, ["blue", "green"])
    }

    func testRoundTripKeepsForwardOrderAndDeployment() throws {
        var state = sampleState()
        state.deployment = ["phase": "canary", "step": 2]
        let decoded = try PersistedState(json: JSONReader.parse(state.jsonValue.jsonBytes))
        XCTAssertEqual(decoded, state)
        XCTAssertEqual(decoded.listeners["production"]?.map(\.group), ["blue", "green"])
    }

    /// Rules' forwards are a member of their own, absent while no rule forwards (so files from before rules read
    /// and write as they did), and come back in order.
    func testRuleForwardsRoundTripAndAreAbsentWithoutRules() throws {
        var state = sampleState()
        state.ruleForwards = ["production": ["api": [PersistedWeight(group: "green", weight: 10), PersistedWeight(group: "blue", weight: 90)]]]
        let object = try JSONSerialization.jsonObject(with: Data(state.jsonValue.jsonBytes)) as! [String: Any]
        let api = ((object["rule_forwards"] as! [String: Any])["production"] as! [String: Any])["api"] as! [[String: Any]]
        XCTAssertEqual(api.map { $0["group"] as? String }, ["green", "blue"])
        XCTAssertEqual(try PersistedState(json: JSONReader.parse(state.jsonValue.jsonBytes)), state)

        var record = JournalRecord(sequence: 3, generation: 4, listeners: state.listeners, targetGroups: [:], draining: [],
                                   audit: nil, idempotency: nil)
        let withoutRules = try JSONSerialization.jsonObject(with: Data(record.jsonValue.jsonBytes)) as! [String: Any]
        XCTAssertNil(withoutRules["rule_forwards"])
        record.ruleForwards = state.ruleForwards
        let decoded = try JournalRecord(json: JSONReader.parse(record.jsonValue.jsonBytes))
        XCTAssertEqual(decoded, record)
        XCTAssertEqual(decoded.applied(to: PersistedState(generation: 1)).ruleForwards, state.ruleForwards)
    }

    func testAMisshapenRecordNamesTheMemberAndWhatWasExpected() throws {
        func reason(_ text: String) -> String? {
            do {
                _ = try JournalRecord(json: JSONReader.parse(Array(text.utf8)))
                return nil
            } catch {
                return "\(error)"
            }
        }
        let routing = #""generation": 2, "listeners": {"production": [{"group": "blue", "weight": 100}]}, "target_groups": {}"#
        XCTAssertNil(reason(#"{"sequence": 1, "#  + routing + #", "draining": [], "unknown": true}"#))
        XCTAssertEqual(reason(#"{"sequence": -1, "# + routing + #", "draining": []}"#), "sequence: expected an integer 0 or above")
        XCTAssertEqual(reason(#"{"sequence": 1, "# + routing + "}"), "draining: missing")
        XCTAssertEqual(reason(#"{"sequence": 1, "generation": 2, "listeners": {"production": [{"group": "blue"}]}, "target_groups": {}, "draining": []}"#),
                       "listeners.production[0].weight: missing")
        XCTAssertEqual(reason(#"{"sequence": 1, "# + routing + #", "draining": [], "audit": {"id": 1}}"#), "audit.time: missing")
        XCTAssertEqual(reason("[]"), "the document: expected an object")
    }

    func testJSONValueRoundTripsEveryKind() throws {
        let value: JSONValue = [
            "null": nil, "yes": true, "no": false, "int": 9_007_199_254_740_993, "negative": -5,
            "double": 2.5, "string": "héllo \"quoted\"", "array": [1, "two", [3.25]], "empty": [:],
        ]
        let decoded = try JSONReader.parse(Array(JSONEncoder().encode(value)))
        XCTAssertEqual(decoded, value)
    }

    // JSON does not tell 3.0 from 3; a whole number reads back as an integer.
    func testJSONValueDecodesNumbersByKind() throws {
        let decoded = try JSONReader.parse(Array(#"[1, 1.5, 3.0, true, 0, null]"#.utf8))
        XCTAssertEqual(decoded, .array([.int(1), .double(1.5), .int(3), .bool(true), .int(0), .null]))
    }
}
