import Foundation
import Glibc
import Logging
import TurnoutPosix
import XCTest
@testable import TurnoutControl

/// The journal and the snapshot through every fault a file system can give them (failed and
/// short writes, ENOSPC, failed fdatasync, fsync, ftruncate, rename), injected between them and
/// the kernel. Afterwards each file holds exactly what was acknowledged, byte for byte, or the
/// journal is unsound and refuses every change until it is repaired.
final class StateFaultTests: XCTestCase {
    private var directory: StateTestDirectory!
    private var files: FaultyFileSystem!
    private var log: CapturedLog!

    override func setUp() {
        directory = StateTestDirectory()
        files = FaultyFileSystem()
        log = CapturedLog()
    }

    override func tearDown() { directory.remove() }

    private var journalPath: String { directory.path + "/journal.log" }

    private func makeJournal() -> StateJournal {
        StateJournal(directory: directory.path, files: files, logger: log.logger)
    }

    private func makeStore() -> StateStore {
        StateStore(directory: directory.path, files: files, logger: log.logger)
    }

    /// A journal holding records 1 and 2, and its bytes.
    private func journalWithTwoRecords() throws -> (StateJournal, [UInt8]) {
        let journal = makeJournal()
        try journal.append(journalRecord(1))
        try journal.append(journalRecord(2))
        return (journal, fileBytes(journalPath))
    }

    /// The bytes of a journal that holds exactly `sequences`, written elsewhere without faults.
    private func faultlessJournal(_ sequences: [UInt64]) throws -> [UInt8] {
        let elsewhere = StateTestDirectory()
        defer { elsewhere.remove() }
        let journal = StateJournal(directory: elsewhere.path, logger: CapturedLog().logger)
        for sequence in sequences { try journal.append(journalRecord(sequence)) }
        return fileBytes(journal.path)
    }

    private func messages(_ level: Logger.Level, containing text: String) -> Int {
        log.all.filter { $0.level == level && $0.message.contains(text) }.count
    }

    // MARK: - A failed append leaves the journal as it was

    func testAFailedWriteLeavesTheJournalAsItWas() throws {
        try assertCutBack(after: [(.write, .fail(ENOSPC))], failing: "write", errno: ENOSPC)
    }

    // What a full disk does: the first write takes what fits, the next fails.
    func testAShortWriteOnAFullDiskIsCutBack() throws {
        try assertCutBack(after: [(.write, .shortWrite(25)), (.write, .fail(ENOSPC))], failing: "write", errno: ENOSPC)
    }

    // fsyncgate: after a failed fdatasync neither the descriptor nor the page cache is trusted.
    func testAFailedFdatasyncIsCutBackThroughAFreshDescriptor() throws {
        let calls = try assertCutBack(after: [(.fdatasync, .fail(EIO))], failing: "fdatasync", errno: EIO)
        XCTAssertEqual(calls, [.write, .fdatasync, .close, .open, .ftruncate, .fsync, .size])
    }

    /// Appends record 3 to a journal of records 1 and 2 while `faults` are armed: the append fails
    /// in `call` with `errno`, the file is byte for byte what it was and the journal is sound; the
    /// next append leaves exactly what a journal that never saw the fault holds, and a restart reads
    /// every record. Returns the calls the failed append made.
    @discardableResult
    private func assertCutBack(after faults: [(FaultyFileSystem.Call, FaultyFileSystem.Fault)], failing call: String,
                               errno: Int32, file: StaticString = #filePath, line: UInt = #line) throws
        -> [FaultyFileSystem.Call]
    {
        let (journal, before) = try journalWithTwoRecords()
        for (armed, fault) in faults { files.inject(fault, into: armed) }
        let mark = files.calls.count
        assertFileFailure(try journal.append(journalRecord(3)), call: call, errno: errno, path: journalPath,
                          file: file, line: line)
        let calls = Array(files.calls[mark...])
        XCTAssertEqual(fileBytes(journalPath), before, file: file, line: line)
        XCTAssertNil(journal.problem, file: file, line: line)

        try journal.append(journalRecord(3))
        XCTAssertEqual(fileBytes(journalPath), try faultlessJournal([1, 2, 3]), file: file, line: line)
        XCTAssertEqual(makeJournal().read().records, [journalRecord(1), journalRecord(2), journalRecord(3)],
                       file: file, line: line)
        return calls
    }

    // MARK: - When the cut fails too, the journal is unsound

    func testCutBackFailingToOpenMakesTheJournalUnsoundUntilRepaired() throws {
        try assertUnsoundUntilRepaired(cutFault: .fail(EMFILE), into: .open)
    }

    func testCutBackFailingToTruncateMakesTheJournalUnsoundUntilRepaired() throws {
        try assertUnsoundUntilRepaired(cutFault: .fail(EIO), into: .ftruncate)
    }

    func testCutBackFailingToSyncMakesTheJournalUnsoundUntilRepaired() throws {
        try assertUnsoundUntilRepaired(cutFault: .fail(EIO), into: .fsync)
    }

    // The check after the cut: the file is not the size it was cut to.
    func testCutBackThatDoesNotHoldMakesTheJournalUnsoundUntilRepaired() throws {
        try assertUnsoundUntilRepaired(cutFault: .pretend, into: .ftruncate)
    }

    /// An append whose fdatasync fails while every cut back meets `cutFault`: the journal is
    /// unsound, says so once, refuses every append without writing, and is repaired (once the
    /// fault is gone) back to exactly the acknowledged records.
    private func assertUnsoundUntilRepaired(cutFault: FaultyFileSystem.Fault, into call: FaultyFileSystem.Call,
                                            file: StaticString = #filePath, line: UInt = #line) throws {
        let (journal, before) = try journalWithTwoRecords()
        files.inject(.fail(EIO), into: .fdatasync)
        files.injectAlways(cutFault, into: call)
        assertFileFailure(try journal.append(journalRecord(3)), call: "fdatasync", errno: EIO, path: journalPath,
                          file: file, line: line)
        let problem = try XCTUnwrap(journal.problem, file: file, line: line)
        XCTAssertTrue(problem.contains("fdatasync \(journalPath)"), problem, file: file, line: line)

        // Whatever the failed append left stays untouched: nothing is written after it.
        let left = fileBytes(journalPath)
        XCTAssertEqual(Array(left.prefix(before.count)), before, file: file, line: line)
        let mark = files.calls.count
        for sequence: UInt64 in 3...5 {
            XCTAssertThrowsError(try journal.append(journalRecord(sequence)), file: file, line: line) { error in
                guard case StateStoreError.unsound(let reason) = error else {
                    return XCTFail("expected unsound, got \(error)", file: file, line: line)
                }
                XCTAssertEqual(reason, problem, file: file, line: line)
            }
        }
        XCTAssertFalse(journal.repair(), file: file, line: line)
        XCTAssertFalse(files.calls[mark...].contains(.write), file: file, line: line)
        XCTAssertEqual(fileBytes(journalPath), left, file: file, line: line)
        XCTAssertEqual(messages(.critical, containing: "STATE JOURNAL IS UNSOUND"), 1, file: file, line: line)

        // The fault goes away: the next append repairs first, then appends after the last acknowledged record.
        files.heal()
        try journal.append(journalRecord(3))
        XCTAssertNil(journal.problem, file: file, line: line)
        XCTAssertEqual(fileBytes(journalPath), try faultlessJournal([1, 2, 3]), file: file, line: line)
        XCTAssertEqual(messages(.notice, containing: "sound again"), 1, file: file, line: line)
    }

    func testRepairAloneMakesAnUnsoundJournalSound() throws {
        let (journal, before) = try journalWithTwoRecords()
        files.inject(.shortWrite(40), into: .write)
        files.inject(.fail(ENOSPC), into: .write)
        files.injectAlways(.fail(EIO), into: .ftruncate)
        XCTAssertThrowsError(try journal.append(journalRecord(3)))
        XCTAssertNotNil(journal.problem)
        XCTAssertEqual(fileBytes(journalPath).count, before.count + 40)

        files.heal()
        XCTAssertTrue(journal.repair())
        XCTAssertNil(journal.problem)
        XCTAssertEqual(fileBytes(journalPath), before)
    }

    // MARK: - Torn records, unreadable journals, compaction

    // A crash in the middle of an append leaves a torn last record; a restart on a full disk
    // cannot compact it away, so the first append after the restart must not run into it.
    func testATornLastRecordIsCutOffBeforeTheNextAppend() throws {
        _ = try journalWithTwoRecords()
        let torn = Array("0badc0de {\"sequence\":3,\"gen".utf8)
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: journalPath))
        handle.seekToEndOfFile()
        handle.write(Data(torn))
        handle.closeFile()

        let journal = makeJournal()
        XCTAssertEqual(journal.read().records.map(\.sequence), [1, 2])
        try journal.append(journalRecord(3))
        XCTAssertEqual(fileBytes(journalPath), try faultlessJournal([1, 2, 3]))
        XCTAssertEqual(makeJournal().read().records.map(\.sequence), [1, 2, 3])
    }

    func testAJournalThatCannotBeReadIsLeftAsItIs() throws {
        let (_, before) = try journalWithTwoRecords()
        let journal = makeJournal()
        files.inject(.fail(EIO), into: .read)
        let contents = journal.read()
        XCTAssertEqual(contents.records, [])
        XCTAssertNotNil(contents.problem)
        XCTAssertNotNil(journal.problem)

        // Neither appended to nor emptied nor cut: what it holds is unknown.
        files.heal()
        XCTAssertThrowsError(try journal.append(journalRecord(3)))
        XCTAssertThrowsError(try journal.truncate())
        XCTAssertFalse(journal.repair())
        XCTAssertEqual(fileBytes(journalPath), before)
    }

    func testAJournalThatCannotBeEmptiedAfterASnapshotIsUnsoundAndLosesNothing() throws {
        let (journal, before) = try journalWithTwoRecords()
        var snapshot = journalRecord(2).applied(to: journalRecord(1).applied(to: PersistedState(generation: 2)))
        snapshot.journalSequence = 2
        try makeStore().save(snapshot)

        files.injectAlways(.fail(EIO), into: .ftruncate)
        assertFileFailure(try journal.truncate(), call: "ftruncate", errno: EIO, path: journalPath)
        XCTAssertNotNil(journal.problem)
        XCTAssertEqual(fileBytes(journalPath), before)

        // A restart now reads the snapshot and replays nothing twice.
        let outcome = StateRecovery.recover(store: StateStore(directory: directory.path, logger: CapturedLog().logger),
                                            journal: StateJournal(directory: directory.path, logger: CapturedLog().logger),
                                            logger: CapturedLog().logger)
        XCTAssertEqual(outcome.state, snapshot)
        XCTAssertEqual(outcome.replayed, 0)

        // Repaired, it is what the snapshot left it: empty.
        files.heal()
        XCTAssertTrue(journal.repair())
        XCTAssertEqual(fileBytes(journalPath), [])
        try journal.append(journalRecord(3))
        XCTAssertEqual(makeJournal().read().records.map(\.sequence), [3])
    }

    // A journal that went missing cannot be cut back to its last record, but once a snapshot holds
    // every record it starts again as a new, empty file.
    func testAMissingJournalIsUnsoundUntilASnapshotLetsItStartEmpty() throws {
        let (journal, _) = try journalWithTwoRecords()
        XCTAssertEqual(unlink(journalPath), 0)
        files.inject(.fail(EIO), into: .fdatasync)
        XCTAssertThrowsError(try journal.append(journalRecord(3)))
        XCTAssertNotNil(journal.problem)
        XCTAssertFalse(journal.repair())

        try journal.truncate()
        XCTAssertNil(journal.problem)
        XCTAssertEqual(fileBytes(journalPath), [])
        XCTAssertEqual(permissions(journalPath), 0o600)
        try journal.append(journalRecord(3))
        XCTAssertEqual(makeJournal().read().records.map(\.sequence), [3])
    }

    // MARK: - The snapshot

    func testAFailedSnapshotWriteLeavesThePreviousSnapshotAndNoTemporaryFile() throws {
        let temporary = directory.stateFile + ".tmp"
        let faults: [(call: FaultyFileSystem.Call, faults: [FaultyFileSystem.Fault], name: String, errno: Int32, path: String)] = [
            (.open, [.fail(ENOSPC)], "open", ENOSPC, temporary),
            (.write, [.fail(ENOSPC)], "write", ENOSPC, temporary),
            (.write, [.shortWrite(100), .fail(ENOSPC)], "write", ENOSPC, temporary),
            (.fsync, [.fail(EIO)], "fsync", EIO, temporary),
            (.close, [.fail(EIO)], "close", EIO, temporary),
            (.rename, [.fail(EIO)], "rename", EIO, directory.stateFile),
        ]
        let store = makeStore()
        try store.save(sampleState(generation: 1))
        let before = fileBytes(directory.stateFile)
        for fault in faults {
            let label = "\(fault.call) \(fault.faults)"
            for armed in fault.faults { files.inject(armed, into: fault.call) }
            assertFileFailure(try store.save(sampleState(generation: 2)), call: fault.name, errno: fault.errno,
                              path: fault.path)
            files.heal()
            XCTAssertEqual(fileBytes(directory.stateFile), before, label)
            XCTAssertEqual(try directory.entries(), ["state.json"], label)
            XCTAssertEqual(makeStore().load(), .loaded(sampleState(generation: 1)), label)
        }
    }

    // The rename is done but not known to be durable: the save fails, so the caller keeps its
    // journal; whichever snapshot survives a crash, the journal replays over it.
    func testAFailedDirectorySyncAfterTheRenameFailsTheSave() throws {
        let store = makeStore()
        try store.save(sampleState(generation: 1))
        files.inject(.pass, into: .fsync)
        files.inject(.fail(EIO), into: .fsync)
        assertFileFailure(try store.save(sampleState(generation: 2)), call: "fsync", errno: EIO, path: directory.path)
        XCTAssertEqual(try directory.entries(), ["state.json"])
        XCTAssertEqual(makeStore().load(), .loaded(sampleState(generation: 2)))
    }

    // A corrupt snapshot that cannot be moved aside is not replaced either: no copy would be left.
    func testACorruptSnapshotThatCannotBeMovedAsideIsNotReplaced() throws {
        try directory.write("not a state file", to: directory.stateFile)
        let store = makeStore()
        files.injectAlways(.fail(EIO), into: .rename)
        guard case .corrupt(_, nil) = store.load() else { return XCTFail("expected corrupt, not moved aside") }
        XCTAssertThrowsError(try store.save(sampleState())) { error in
            guard case StateStoreError.unusable(let path, _) = error else { return XCTFail("got \(error)") }
            XCTAssertEqual(path, self.directory.stateFile)
        }
        XCTAssertEqual(try directory.read(directory.stateFile), "not a state file")

        files.heal()
        try store.save(sampleState())
        let aside = try XCTUnwrap(try directory.entries().first { $0.hasPrefix("state.json.corrupt-") })
        XCTAssertEqual(try directory.read(directory.path + "/" + aside), "not a state file")
        XCTAssertEqual(makeStore().load(), .loaded(sampleState()))
    }

    private func assertFileFailure(_ expression: @autoclosure () throws -> Void, call: String, errno: Int32, path: String,
                                   file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            guard case StateStoreError.file(let failure) = error else {
                return XCTFail("expected a file error, got \(error)", file: file, line: line)
            }
            XCTAssertEqual("\(failure.system.call)", call, file: file, line: line)
            XCTAssertEqual(failure.errno, errno, file: file, line: line)
            XCTAssertEqual(failure.path, path, file: file, line: line)
        }
    }
}
