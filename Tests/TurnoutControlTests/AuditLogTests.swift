import XCTest
@testable import TurnoutControl

final class AuditLogTests: XCTestCase {
    private func append(_ log: inout AuditLog, generation: UInt64) -> AuditEntry {
        log.append(action: "forward", caller: "127.0.0.1", generationBefore: generation, generationAfter: generation + 1,
                   request: ["blue": 90], diff: ["generation": .int(Int64(generation))],
                   millisecondsSinceEpoch: 1_795_000_000_000 + generation)
    }

    func testAppendFillsTheEntry() {
        var log = AuditLog()
        let entry = append(&log, generation: 3)
        XCTAssertEqual(entry, AuditEntry(
            id: 1, time: "2026-11-18T11:06:40.003Z", action: "forward", caller: "127.0.0.1",
            generationBefore: 3, generationAfter: 4, request: ["blue": 90], diff: ["generation": 3]))
        XCTAssertEqual(log.entries(), [entry])
    }

    func testKeepsTheLast1000WithIncreasingIds() {
        var log = AuditLog()
        for generation in 0..<1005 { _ = append(&log, generation: UInt64(generation)) }
        XCTAssertEqual(log.count, 1000)
        XCTAssertEqual(log.entries().map(\.id), Array(6...1005))
        XCTAssertEqual(log.nextID, 1006)
    }

    func testEntriesLimitIsNewestLast() {
        var log = AuditLog()
        for generation in 0..<10 { _ = append(&log, generation: UInt64(generation)) }
        XCTAssertEqual(log.entries(limit: 3).map(\.id), [8, 9, 10])
        XCTAssertEqual(log.entries(limit: 50).map(\.id), Array(1...10))
        XCTAssertEqual(log.entries(limit: 0), [])
        XCTAssertEqual(log.entries(limit: -1), [])
    }

    func testRestoredLogContinuesIds() {
        var log = AuditLog()
        for generation in 0..<4 { _ = append(&log, generation: UInt64(generation)) }
        var restored = AuditLog(entries: log.entries(limit: 2))
        XCTAssertEqual(append(&restored, generation: 9).id, 5)
        XCTAssertEqual(restored.entries().map(\.id), [3, 4, 5])
    }

    func testTimestampsAreUTCWithMilliseconds() {
        XCTAssertEqual(AuditTimestamp.iso8601(milliseconds: 0), "1970-01-01T00:00:00.000Z")
        XCTAssertEqual(AuditTimestamp.iso8601(milliseconds: 1_795_962_192_123), "2026-11-29T14:23:12.123Z")
        XCTAssertEqual(AuditTimestamp.iso8601(milliseconds: 951_782_400_007), "2000-02-29T00:00:00.007Z")
    }

    func testLastChangeIsTheNewestEntryThatChangedTheValueLeavingOutExcludedActions() {
        var log = AuditLog()
        func change(_ action: String, _ diff: JSONValue, generation: UInt64) -> AuditEntry {
            log.append(action: action, caller: "127.0.0.1", generationBefore: generation, generationAfter: generation + 1,
                       request: [:], diff: diff)
        }
        let weights = change("weights", ["listeners": ["production": ["before": [:], "after": [:]]]], generation: 1)
        let register = change("targets.register", ["target_groups": ["blue": ["before": [], "after": []]]], generation: 2)
        _ = change("targets.resolve", ["target_groups": ["blue": ["before": [], "after": []]]], generation: 3)
        _ = change("weights", ["listeners": ["test": ["before": [:], "after": [:]]]], generation: 4)

        XCTAssertEqual(log.lastChange(of: "production", in: "listeners"), weights)
        XCTAssertEqual(log.lastChange(of: "blue", in: "target_groups")?.action, "targets.resolve")
        XCTAssertEqual(log.lastChange(of: "blue", in: "target_groups", excluding: ["targets.resolve"]), register)
        XCTAssertNil(log.lastChange(of: "green", in: "target_groups"))
        XCTAssertNil(log.lastChange(of: "production", in: "target_groups"))
    }
}
