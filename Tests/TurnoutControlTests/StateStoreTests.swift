import Foundation
import Glibc
import XCTest
@testable import TurnoutControl

final class StateStoreTests: XCTestCase {
    private var directory: StateTestDirectory!

    override func setUp() { directory = StateTestDirectory() }
    override func tearDown() { directory.remove() }

    func testMissingFileIsAbsent() {
        XCTAssertEqual(directory.store().load(), .absent)
    }

    func testMissingDirectoryIsAbsent() {
        let store = StateStore(directory: directory.path + "/not-there", logger: CapturedLog().logger)
        XCTAssertEqual(store.load(), .absent)
    }

    func testRoundTrip() throws {
        let state = sampleState()
        try directory.store().save(state)
        XCTAssertEqual(directory.store().load(), .loaded(state))
    }

    func testLaterSaveReplacesEarlier() throws {
        let store = directory.store()
        try store.save(sampleState(generation: 1))
        try store.save(sampleState(generation: 2))
        XCTAssertEqual(store.load(), .loaded(sampleState(generation: 2)))
    }

    func testFileModeIs0600AndNoTemporaryFileRemains() throws {
        try directory.store().save(sampleState())
        XCTAssertEqual(permissions(directory.stateFile), 0o600)
        XCTAssertEqual(try directory.entries(), ["state.json"])
    }

    func testLeftoverTemporaryFileWithWideModeIsReplacedWith0600() throws {
        try directory.write("garbage", to: directory.stateFile + ".tmp")
        XCTAssertEqual(chmod(directory.stateFile + ".tmp", 0o644), 0)
        try directory.store().save(sampleState())
        XCTAssertEqual(permissions(directory.stateFile), 0o600)
        XCTAssertEqual(try directory.entries(), ["state.json"])
    }

    func testSaveCreatesMissingDirectoriesWithMode0700() throws {
        let nested = directory.path + "/var/turnout"
        let store = StateStore(directory: nested, logger: CapturedLog().logger)
        try store.save(sampleState())
        XCTAssertEqual(permissions(directory.path + "/var"), 0o700)
        XCTAssertEqual(permissions(nested), 0o700)
        XCTAssertEqual(store.load(), .loaded(sampleState()))
    }

    // The default state_dir is relative to the working directory.
    func testSaveCreatesARelativeDirectory() throws {
        let previous = FileManager.default.currentDirectoryPath
        XCTAssertEqual(chdir(directory.path), 0)
        defer { chdir(previous) }
        let store = StateStore(directory: ".turnout/state", logger: CapturedLog().logger)
        try store.save(sampleState())
        XCTAssertEqual(permissions(directory.path + "/.turnout"), 0o700)
        XCTAssertEqual(permissions(directory.path + "/.turnout/state/state.json"), 0o600)
        XCTAssertEqual(store.load(), .loaded(sampleState()))
    }

    func testSaveFailureNamesThePath() throws {
        try directory.write("a file, not a directory", to: directory.path + "/blocker")
        let store = StateStore(directory: directory.path + "/blocker/state", logger: CapturedLog().logger)
        XCTAssertThrowsError(try store.save(sampleState())) { error in
            guard case StateStoreError.file(let failure) = error else {
                return XCTFail("unexpected error \(error)")
            }
            XCTAssertEqual(failure.errno, ENOTDIR)
            XCTAssertEqual(failure.path, "\(directory.path)/blocker/state")
        }
    }

    // A crash during save leaves a partial state.json.tmp; the last complete state still wins.
    func testInterruptedSaveLeavesThePreviousState() throws {
        let stateA = sampleState(generation: 41)
        try directory.store().save(stateA)
        try directory.write("{\"format\":1,\"checksum\":\"00000000\",\"payl", to: directory.stateFile + ".tmp")
        let log = CapturedLog()
        XCTAssertEqual(directory.store(log: log).load(), .loaded(stateA))
        XCTAssertEqual(try directory.entries(), ["state.json"])
        XCTAssertEqual(log.all.first, .init(level: .warning, message: "removed an unfinished state write"))
    }

    func testTruncatedFileIsCorrupt() throws {
        try directory.store().save(sampleState())
        let text = try directory.read(directory.stateFile)
        try directory.write(String(text.prefix(text.count / 2)), to: directory.stateFile)
        try assertCorrupt(reasonContains: "not a state file", original: String(text.prefix(text.count / 2)))
    }

    func testEmptyFileIsCorrupt() throws {
        try directory.write("", to: directory.stateFile)
        try assertCorrupt(reasonContains: "empty", original: "")
    }

    func testNotJSONIsCorrupt() throws {
        try directory.write("generation: 3\n", to: directory.stateFile)
        try assertCorrupt(reasonContains: "not a state file", original: "generation: 3\n")
    }

    func testChecksumMismatchIsCorrupt() throws {
        try directory.store().save(sampleState(generation: 7))
        let text = try directory.read(directory.stateFile)
        let edited = text.replacingOccurrences(of: "\"generation\":7", with: "\"generation\":8")
        XCTAssertNotEqual(edited, text)
        try directory.write(edited, to: directory.stateFile)
        try assertCorrupt(reasonContains: "checksum mismatch", original: edited)
    }

    func testUnknownFormatIsCorrupt() throws {
        try directory.store().save(sampleState())
        let text = try directory.read(directory.stateFile)
        let edited = text.replacingOccurrences(of: "\"format\":1,", with: "\"format\":2,")
        try directory.write(edited, to: directory.stateFile)
        try assertCorrupt(reasonContains: "unknown format 2", original: edited)
    }

    func testValidChecksumOverWrongShapeIsCorrupt() throws {
        let payload = "{\"generation\":\"three\"}"
        let checksum = CRC32.hex(CRC32.checksum(Array(payload.utf8)))
        let file = "{\"format\":1,\"checksum\":\"\(checksum)\",\"payload\":\(payload)}"
        try directory.write(file, to: directory.stateFile)
        try assertCorrupt(reasonContains: "payload does not decode", original: file)
    }

    func testUnreadableFileIsCorrupt() throws {
        XCTAssertEqual(mkdir(directory.stateFile, 0o700), 0)
        let result = directory.store().load()
        guard case .corrupt(let reason, let movedTo?) = result else { return XCTFail("got \(result)") }
        XCTAssertTrue(reason.hasPrefix("unreadable: read "), reason)
        XCTAssertTrue(directory.exists(movedTo))
        XCTAssertFalse(directory.exists(directory.stateFile))
    }

    func testSecondCorruptFileInTheSameSecondDoesNotOverwriteTheFirst() throws {
        try directory.write("first", to: directory.stateFile)
        guard case .corrupt(_, let first?) = directory.store().load() else { return XCTFail("not corrupt") }
        try directory.write("second", to: directory.stateFile)
        guard case .corrupt(_, let second?) = directory.store().load() else { return XCTFail("not corrupt") }
        XCTAssertNotEqual(first, second)
        XCTAssertEqual(try directory.read(first), "first")
        XCTAssertEqual(try directory.read(second), "second")
    }

    /// Loads, expects `.corrupt` with the file moved aside untouched, then checks that a fresh
    /// start works: the next load is absent and a save followed by a load round-trips.
    private func assertCorrupt(reasonContains expected: String, original: String,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        let before = Int(Date().timeIntervalSince1970)
        let log = CapturedLog()
        let result = directory.store(log: log).load()
        guard case .corrupt(let reason, let movedTo?) = result else {
            return XCTFail("expected corrupt, got \(result)", file: file, line: line)
        }
        XCTAssertTrue(reason.contains(expected), "reason: \(reason)", file: file, line: line)
        let prefix = directory.stateFile + ".corrupt-"
        XCTAssertTrue(movedTo.hasPrefix(prefix), movedTo, file: file, line: line)
        let seconds = Int(movedTo.dropFirst(prefix.count)) ?? -1
        XCTAssertTrue((before...before + 2).contains(seconds), movedTo, file: file, line: line)
        XCTAssertEqual(try directory.read(movedTo), original, file: file, line: line)
        XCTAssertFalse(directory.exists(directory.stateFile), file: file, line: line)
        XCTAssertEqual(log.all.map(\.level), [.error], file: file, line: line)

        XCTAssertEqual(directory.store().load(), .absent, file: file, line: line)
        try directory.store().save(sampleState(generation: 99))
        XCTAssertEqual(directory.store().load(), .loaded(sampleState(generation: 99)), file: file, line: line)
        XCTAssertEqual(try directory.read(movedTo), original, file: file, line: line)
    }
}
