import Foundation
import XCTest
@testable import TurnoutControl

final class StateFileEnvelopeTests: XCTestCase {
    func testLayoutAndChecksumOverThePayloadBytes() throws {
        let file = String(decoding: try StateFileEnvelope.encode(PersistedState(generation: 3)), as: UTF8.self)
        let payload = "{\"audit\":[],\"deployment\":null,\"draining\":[],\"generation\":3,\"idempotency\":[],"
            + "\"journal_sequence\":0,\"listeners\":{},\"target_groups\":{}}"
        let checksum = CRC32.hex(CRC32.checksum(Array(payload.utf8)))
        XCTAssertEqual(file, "{\"format\":1,\"checksum\":\"\(checksum)\",\"payload\":\(payload)}\n")
    }

    func testReformattedEnvelopeStillVerifies() throws {
        // The members in another order than this build writes them (as JSONEncoder wrote them without sorted keys).
        let payload = #"{"listeners":{},"target_groups":{},"deployment":null,"generation":5,"draining":[],"#
            + #""journal_sequence":0,"audit":[],"idempotency":[]}"#
        let checksum = CRC32.hex(CRC32.checksum(Array(payload.utf8)))
        let file = "{\n  \"payload\" : \(payload),\n  \"checksum\": \"\(checksum)\",\n  \"format\": 1\n}\n"
        XCTAssertEqual(try StateFileEnvelope.decode(Array(file.utf8)).get(), PersistedState(generation: 5))
    }

    func testMemberSpanSkipsBracketsAndQuotesInsideStrings() {
        let json = #"{"a": "x}\"]{", "payload": {"k": ["}", {"q": "\\"}]}, "z": null}"#
        let bytes = Array(json.utf8)
        let span = StateFileEnvelope.topLevelMemberSpan(named: "payload", in: bytes)
        XCTAssertEqual(span.map { String(decoding: bytes[$0], as: UTF8.self) }, #"{"k": ["}", {"q": "\\"}]}"#)
    }

    func testMemberSpanOfScalarsAndMissingOrDuplicateMembers() {
        let bytes = Array(#"{"n": -1.5e3 , "payload":true}"#.utf8)
        XCTAssertEqual(StateFileEnvelope.topLevelMemberSpan(named: "n", in: bytes).map { String(decoding: bytes[$0], as: UTF8.self) }, "-1.5e3")
        XCTAssertEqual(StateFileEnvelope.topLevelMemberSpan(named: "payload", in: bytes).map { String(decoding: bytes[$0], as: UTF8.self) }, "true")
        XCTAssertNil(StateFileEnvelope.topLevelMemberSpan(named: "missing", in: bytes))
        XCTAssertNil(StateFileEnvelope.topLevelMemberSpan(named: "payload", in: Array(#"{"payload":1,"payload":2}"#.utf8)))
        XCTAssertNil(StateFileEnvelope.topLevelMemberSpan(named: "payload", in: Array("[1]".utf8)))
    }

    func testMissingPayloadIsReported() {
        let file = Array(#"{"format":1,"checksum":"00000000"}"#.utf8)
        XCTAssertEqual(StateFileEnvelope.decode(file).failureReason, "no payload")
    }

    func testChecksumMismatchNamesBothValues() throws {
        var file = String(decoding: try StateFileEnvelope.encode(PersistedState(generation: 3)), as: UTF8.self)
        let stored = String(file.dropFirst("{\"format\":1,\"checksum\":\"".count).prefix(8))
        file = file.replacingOccurrences(of: stored, with: "deadbeef")
        let computed = stored
        XCTAssertEqual(StateFileEnvelope.decode(Array(file.utf8)).failureReason,
                       "checksum mismatch (stored deadbeef, computed \(computed))")
    }
}

extension Result where Failure == StateFileEnvelope.Failure {
    fileprivate var failureReason: String? {
        if case .failure(let failure) = self { return failure.reason }
        return nil
    }
}
