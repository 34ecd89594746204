import Foundation
import Logging
import XCTest
@testable import TurnoutControl

/// The journal on real files: records survive, a torn tail is dropped, damage in the
/// middle is reported and kept aside, and recovery layers records over the snapshot.
final class StateJournalTests: XCTestCase {
    private var directory: String!
    private let logger = Logger(label: "test")

    override func setUp() {
        directory = NSTemporaryDirectory() + "journal-\(UUID().uuidString)"
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func record(_ sequence: UInt64, generation: UInt64, blue: Int) -> JournalRecord {
        JournalRecord(sequence: sequence, generation: generation,
                      listeners: ["production": [PersistedWeight(group: "blue", weight: blue)]],
                      targetGroups: ["blue": ["127.0.0.1:3000"]], draining: [], audit: nil, idempotency: nil)
    }

    func testAppendedRecordsReadBackInOrder() throws {
        let journal = StateJournal(directory: directory, logger: logger)
        try journal.append(record(1, generation: 2, blue: 100))
        try journal.append(record(2, generation: 3, blue: 50))
        let contents = StateJournal(directory: directory, logger: logger).read()
        XCTAssertNil(contents.problem)
        XCTAssertEqual(contents.records.map(\.sequence), [1, 2])
        XCTAssertEqual(contents.records[1].listeners["production"]?.first?.weight, 50)
        let mode = try FileManager.default.attributesOfItem(atPath: journal.path)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)
    }

    func testTornLastLineIsDroppedQuietly() throws {
        let journal = StateJournal(directory: directory, logger: logger)
        try journal.append(record(1, generation: 2, blue: 100))
        let handle = FileHandle(forWritingAtPath: journal.path)!
        handle.seekToEndOfFile()
        handle.write(Data("0badc0de {\"sequence\":2,\"gen".utf8))
        handle.closeFile()
        let contents = journal.read()
        XCTAssertNil(contents.problem)
        XCTAssertEqual(contents.records.map(\.sequence), [1])
    }

    func testDamageBeforeTheEndIsReportedAndKeptAside() throws {
        let journal = StateJournal(directory: directory, logger: logger)
        try journal.append(record(1, generation: 2, blue: 100))
        try journal.append(record(2, generation: 3, blue: 90))
        try journal.append(record(3, generation: 4, blue: 80))
        var bytes = try Data(contentsOf: URL(fileURLWithPath: journal.path))
        let secondLine = bytes.firstIndex(of: 0x0A)! + 1
        bytes[secondLine + 20] ^= 0x01  // a flipped bit inside record 2's JSON
        try bytes.write(to: URL(fileURLWithPath: journal.path))
        let contents = journal.read()
        XCTAssertEqual(contents.records.map(\.sequence), [1])
        XCTAssertNotNil(contents.problem)
        let kept = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("journal.log.corrupt-") }
        XCTAssertEqual(kept.count, 1)
    }

    func testRecoveryReplaysOnlyRecordsAfterTheSnapshot() throws {
        let store = StateStore(directory: directory, logger: logger)
        var snapshot = PersistedState(generation: 3, listeners: ["production": [PersistedWeight(group: "blue", weight: 90)]])
        snapshot.journalSequence = 2
        try store.save(snapshot)
        let journal = StateJournal(directory: directory, logger: logger)
        try journal.append(record(2, generation: 3, blue: 90))  // already in the snapshot
        try journal.append(record(3, generation: 4, blue: 10))
        guard case .recovered(let state, let replayed) = StateRecovery.recover(store: store, journal: journal, logger: logger) else {
            return XCTFail("expected a recovered state")
        }
        XCTAssertEqual(replayed, 1)
        XCTAssertEqual(state.generation, 4)
        XCTAssertEqual(state.journalSequence, 3)
        XCTAssertEqual(state.listeners["production"]?.first?.weight, 10)
    }

    func testJournalAloneRecoversWithoutASnapshot() throws {
        let store = StateStore(directory: directory, logger: logger)
        let journal = StateJournal(directory: directory, logger: logger)
        try journal.append(record(1, generation: 2, blue: 70))
        guard case .recovered(let state, _) = StateRecovery.recover(store: store, journal: journal, logger: logger) else {
            return XCTFail("expected a recovered state")
        }
        XCTAssertEqual(state.generation, 2)
        XCTAssertEqual(state.listeners["production"]?.first?.weight, 70)
    }
}
