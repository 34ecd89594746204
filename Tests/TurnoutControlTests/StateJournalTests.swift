import Foundation
import Logging
import XCTest
@testable import TurnoutControl

/// The journal on real files: records survive, a torn tail is dropped, damage in the
/// middle is reported and kept aside, and recovery layers records over the snapshot.
final class StateJournalTests: XCTestCase {
    private var directory: String!
    private let logger = CapturedLog().logger

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
        let outcome = StateRecovery.recover(store: store, journal: journal, logger: logger)
        guard let state = outcome.state else { return XCTFail("expected a recovered state") }
        XCTAssertNil(outcome.damage)
        XCTAssertEqual(outcome.replayed, 1)
        XCTAssertEqual(state.generation, 4)
        XCTAssertEqual(state.journalSequence, 3)
        XCTAssertEqual(state.listeners["production"]?.first?.weight, 10)
    }

    func testJournalAloneRecoversWithoutASnapshot() throws {
        let store = StateStore(directory: directory, logger: logger)
        let journal = StateJournal(directory: directory, logger: logger)
        try journal.append(record(1, generation: 2, blue: 70))
        guard let state = StateRecovery.recover(store: store, journal: journal, logger: logger).state else {
            return XCTFail("expected a recovered state")
        }
        XCTAssertEqual(state.generation, 2)
        XCTAssertEqual(state.listeners["production"]?.first?.weight, 70)
    }

    // Every record carries the whole routing state, so a corrupt snapshot loses only the audit
    // entries and idempotency keys older than the journal, and those stay in the file kept aside.
    func testACorruptSnapshotRecoversTheRoutingFromTheJournal() throws {
        let store = StateStore(directory: directory, logger: logger)
        var snapshot = sampleState(generation: 5)
        snapshot.journalSequence = 4
        try store.save(snapshot)
        let journal = StateJournal(directory: directory, logger: logger)
        try journal.append(journalRecord(5))
        try journal.append(journalRecord(6))
        let journalBytes = fileBytes(journal.path)
        var spoiled = fileBytes(store.path)
        spoiled[spoiled.count - 10] ^= 0x01  // one flipped bit inside the payload
        try Data(spoiled).write(to: URL(fileURLWithPath: store.path))

        let log = CapturedLog()
        let outcome = StateRecovery.recover(store: StateStore(directory: directory, logger: log.logger),
                                            journal: StateJournal(directory: directory, logger: log.logger), logger: log.logger)
        let state = try XCTUnwrap(outcome.state)
        let last = journalRecord(6)
        XCTAssertEqual(state.generation, 7)
        XCTAssertEqual(state.listeners, last.listeners)
        XCTAssertEqual(state.targetGroups, last.targetGroups)
        XCTAssertEqual(state.draining, last.draining)
        XCTAssertEqual(state.audit, [journalRecord(5).audit!, last.audit!])
        XCTAssertEqual(state.journalSequence, 6)
        XCTAssertEqual(outcome.replayed, 2)

        // Said in the log and kept for the status, with where the snapshot went.
        let damage = try XCTUnwrap(outcome.damage)
        let aside = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: directory)
            .first { $0.hasPrefix("state.json.corrupt-") })
        XCTAssertTrue(damage.contains("state.json was corrupt (checksum mismatch"), damage)
        XCTAssertTrue(damage.contains("kept aside as \(directory!)/\(aside)"), damage)
        XCTAssertTrue(damage.contains("routing restored from 2 journal records (generation 7)"), damage)
        XCTAssertEqual(log.all.filter { $0.level == .critical }.map(\.message), ["SAVED STATE DAMAGED: \(damage)"])

        // Nothing was cut or deleted: the journal is as it was, the snapshot kept byte for byte.
        XCTAssertEqual(fileBytes(journal.path), journalBytes)
        XCTAssertEqual(fileBytes(directory + "/" + aside), spoiled)
    }

    func testACorruptSnapshotWithAnEmptyJournalLeavesTheConfigurationInCharge() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Data("not a state file".utf8).write(to: URL(fileURLWithPath: directory + "/state.json"), options: [])
        let outcome = StateRecovery.recover(store: StateStore(directory: directory, logger: logger),
                                            journal: StateJournal(directory: directory, logger: logger), logger: logger)
        XCTAssertNil(outcome.state)
        let damage = try XCTUnwrap(outcome.damage)
        XCTAssertTrue(damage.contains("the journal holds no change; starting from the configuration"), damage)
    }
}
