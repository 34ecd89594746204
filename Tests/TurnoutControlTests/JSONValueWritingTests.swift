import Foundation
import XCTest
@testable import TurnoutControl

/// `JSONValue.jsonBytes` must write what `JSONEncoder` (sorted keys, slashes unescaped) wrote
/// before it, byte for byte, and `JSONReader` must read it back. Values are compared with
/// `JSONEncoder` itself (through the test-only conformance below); journal records and snapshots
/// with the bytes `JSONEncoder` wrote for them (`Written`), which is the layout of the files on disk.
final class JSONValueWritingTests: XCTestCase {
    private func foundationBytes(_ value: JSONValue) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }

    private let awkward = "quote \" backslash \\ slash /v1/switch newline \n tab \t cr \r bell \u{07} nul \u{00} del \u{7F} é 🚦"

    private func sampleRecord(audit: Bool, idempotency: Bool) -> JournalRecord {
        JournalRecord(
            sequence: 42, generation: 7,
            listeners: ["production": [PersistedWeight(group: "blue", weight: 0), PersistedWeight(group: "green", weight: 100)],
                        "test": [PersistedWeight(group: "blue", weight: 100)]],
            targetGroups: ["blue": ["127.0.0.1:3000", "[::1]:3002"], "green": ["127.0.0.1:3001"]],
            draining: [PersistedDrain(group: "blue", target: "127.0.0.1:3000", until: 1_795_000_000_123)],
            audit: audit ? AuditEntry(
                id: 9, time: "2026-11-26T17:00:00.123Z", action: "switch", caller: "127.0.0.1",
                generationBefore: 6, generationAfter: 7,
                request: ["to": "green", "note": .string(awkward), "nested": ["a": [1, 2, ["b": nil]], "t": true]],
                diff: ["production": ["before": ["blue": 100], "after": ["green": 100]]]) : nil,
            idempotency: idempotency ? IdempotencyRecord(
                key: "deploy-17", method: "POST", path: "/v1/switch", requestHash: "ab12", status: 200,
                body: #"{"generation":7}"#, time: "2026-11-26T17:00:00.124Z") : nil)
    }

    /// What `JSONEncoder` wrote for `sampleRecord` and a snapshot of it, when the persisted types were `Encodable`.
    private enum Written {
        static let audit = #"{"action":"switch","caller":"127.0.0.1","diff":{"production":{"after":{"green":100},"before":{"blue":100}}},"#
            + #""generation_after":7,"generation_before":6,"id":9,"request":{"nested":{"a":[1,2,{"b":null}],"t":true},"#
            + #""note":"quote \" backslash \\ slash /v1/switch newline \n tab \t cr \r bell \u0007 nul \u0000 del \#u{7F} é 🚦","#
            + #""to":"green"},"time":"2026-11-26T17:00:00.123Z"}"#
        static let idempotency = #"{"body":"{\"generation\":7}","key":"deploy-17","method":"POST","path":"/v1/switch","#
            + #""request_hash":"ab12","status":200,"time":"2026-11-26T17:00:00.124Z"}"#
        static let draining = #"[{"group":"blue","target":"127.0.0.1:3000","until":1795000000123}]"#
        static let listeners = #"{"production":[{"group":"blue","weight":0},{"group":"green","weight":100}],"#
            + #""test":[{"group":"blue","weight":100}]}"#
        static let targetGroups = #"{"blue":["127.0.0.1:3000","[::1]:3002"],"green":["127.0.0.1:3001"]}"#

        static func record(audit: Bool, idempotency: Bool) -> String {
            "{" + (audit ? #""audit":\#(self.audit),"# : "") + #""draining":\#(draining),"generation":7,"#
                + (idempotency ? #""idempotency":\#(self.idempotency),"# : "")
                + #""listeners":\#(listeners),"sequence":42,"target_groups":\#(targetGroups)}"#
        }

        static func snapshot(deployment: String) -> String {
            #"{"audit":[\#(audit),\#(audit)],"deployment":\#(deployment),"draining":\#(draining),"generation":7,"#
                + #""idempotency":[\#(idempotency)],"journal_sequence":300,"listeners":\#(listeners),"#
                + #""target_groups":\#(targetGroups)}"#
        }
    }

    func testJournalRecordsMatchJSONEncoderByteForByte() throws {
        for (audit, idempotency) in [(true, true), (true, false), (false, true), (false, false)] {
            let record = sampleRecord(audit: audit, idempotency: idempotency)
            XCTAssertEqual(String(decoding: record.jsonValue.jsonBytes, as: UTF8.self),
                           Written.record(audit: audit, idempotency: idempotency), "audit \(audit), idempotency \(idempotency)")
            XCTAssertEqual(try JournalRecord(json: JSONReader.parse(record.jsonValue.jsonBytes)), record)
        }
    }

    func testStateSnapshotsMatchJSONEncoderByteForByte() throws {
        let full = sampleRecord(audit: true, idempotency: true)
        var state = PersistedState(generation: 7, listeners: full.listeners, targetGroups: full.targetGroups,
                                   draining: full.draining, audit: [full.audit!, full.audit!], idempotency: [full.idempotency!])
        state.journalSequence = 300
        let deployments: [(JSONValue?, String)] = [(.none, "null"), (["phase": "canary", "step": 2], #"{"phase":"canary","step":2}"#)]
        for (deployment, written) in deployments {
            state.deployment = deployment
            XCTAssertEqual(String(decoding: state.jsonValue.jsonBytes, as: UTF8.self), Written.snapshot(deployment: written))
            XCTAssertEqual(try PersistedState(json: JSONReader.parse(state.jsonValue.jsonBytes)), state)
            XCTAssertEqual(try PersistedState(json: JSONReader.parse(Array(Written.snapshot(deployment: written).utf8))), state)
        }
    }

    func testEveryControlCharacterIsEscapedAsJSONEncoderDoes() throws {
        let everyControl = String(decoding: (0..<0x20).map { UInt8($0) } + Array("end".utf8), as: UTF8.self)
        let value: JSONValue = ["s": .string(everyControl), "awkward": .string(awkward)]
        XCTAssertEqual(String(decoding: value.jsonBytes, as: UTF8.self), String(decoding: try foundationBytes(value), as: UTF8.self))
        XCTAssertEqual(try JSONReader.parse(value.jsonBytes), value)
    }

    func testScalarsAndContainers() throws {
        let value: JSONValue = [
            "null": nil, "yes": true, "no": false, "int": 9_007_199_254_740_993, "negative": -5, "min": .int(Int64.min),
            "half": 2.5, "whole": 3.0, "small": 0.001, "array": [1, "two", [3.25], [], [:]], "empty": [:],
        ]
        XCTAssertEqual(String(decoding: value.jsonBytes, as: UTF8.self), String(decoding: try foundationBytes(value), as: UTF8.self))
        XCTAssertEqual(String(decoding: JSONValue.object(["b": 1, "a": ["d": 2, "c": 3]]).jsonBytes, as: UTF8.self),
                       #"{"a":{"c":3,"d":2},"b":1}"#)
    }

    func testDoublesReadBackAsTheSameNumber() throws {
        for number in [1e20, -1.5e-7, 123_456.789, 0.1, Double.greatestFiniteMagnitude] {
            let decoded = try JSONReader.parse(JSONValue.double(number).jsonBytes)
            switch decoded {
            case .double(let read): XCTAssertEqual(read, number)
            case .int(let read): XCTAssertEqual(Double(read), number)
            default: XCTFail("\(number) read back as \(decoded)")
            }
        }
        XCTAssertEqual(String(decoding: JSONValue.double(.nan).jsonBytes, as: UTF8.self), "null")
    }
}

/// `JSONEncoder`'s encoding of a value, for comparing the writer with it. Only the tests encode this
/// way; the control plane writes every document with `jsonBytes`.
extension JSONValue: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}
