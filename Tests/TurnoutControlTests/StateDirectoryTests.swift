import Foundation
import Glibc
import XCTest
@testable import TurnoutControl

/// The start-up check of `state_dir` (`serve` creates it, `check` only looks): a file where a
/// directory belongs, or the reverse, is refused naming the path.
final class StateDirectoryTests: XCTestCase {
    private var directory: StateTestDirectory!

    override func setUp() { directory = StateTestDirectory() }
    override func tearDown() { directory.remove() }

    func testAStateDirThatIsAFileIsRefused() throws {
        let path = directory.path + "/state"
        try directory.write("not a directory", to: path)
        for create in [true, false] {
            assertUnusable(try StateDirectory.check(path, create: create), path: path, reason: "is not a directory")
        }
    }

    func testAJournalThatIsADirectoryIsRefused() throws {
        let journal = directory.path + "/journal.log"
        XCTAssertEqual(mkdir(journal, 0o700), 0)
        for create in [true, false] {
            assertUnusable(try StateDirectory.check(directory.path, create: create), path: journal,
                           reason: "is a directory, not a file")
        }
    }

    func testASnapshotThatIsNotARegularFileIsRefused() throws {
        let snapshot = directory.stateFile
        XCTAssertEqual(mkfifo(snapshot, 0o600), 0)
        assertUnusable(try StateDirectory.check(directory.path, create: true), path: snapshot,
                       reason: "is not a regular file")
    }

    func testAMissingStateDirIsCreatedOnlyWhenAsked() throws {
        let path = directory.path + "/var/turnout"
        try StateDirectory.check(path, create: false)
        XCTAssertFalse(directory.exists(directory.path + "/var"))
        try StateDirectory.check(path, create: true)
        XCTAssertEqual(permissions(path), 0o700)
    }

    func testAMissingStateDirUnderAFileIsRefusedNamingTheFile() throws {
        let blocker = directory.path + "/blocker"
        try directory.write("a file", to: blocker)
        assertUnusable(try StateDirectory.check(blocker + "/state", create: false), path: blocker,
                       reason: "is not a directory (state_dir \(blocker)/state would be made in it)")
        XCTAssertThrowsError(try StateDirectory.check(blocker + "/state", create: true)) { error in
            guard case StateStoreError.file(let failure) = error else { return XCTFail("got \(error)") }
            XCTAssertEqual(failure.errno, ENOTDIR)
            XCTAssertEqual(failure.path, blocker + "/state")
        }
    }

    func testAnExistingStateDirWithItsFilesPasses() throws {
        try directory.store().save(sampleState())
        try directory.write("", to: directory.path + "/journal.log")
        try StateDirectory.check(directory.path, create: false)
        try StateDirectory.check(directory.path, create: true)
    }

    private func assertUnusable(_ expression: @autoclosure () throws -> Void, path: String, reason: String,
                                file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            guard case StateStoreError.unusable(let actualPath, let actualReason) = error else {
                return XCTFail("expected unusable, got \(error)", file: file, line: line)
            }
            XCTAssertEqual(actualPath, path, file: file, line: line)
            XCTAssertEqual(actualReason, reason, file: file, line: line)
        }
    }
}
