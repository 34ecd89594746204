import Glibc
import Synchronization
import TurnoutPosix
import XCTest

final class PosixThreadTests: XCTestCase {
    func testDetachedThreadRunsTheBodyOnAnotherThread() throws {
        let finished = expectation(description: "the detached thread ran")
        let callerThread = pthread_self()
        let ranElsewhere = Atomic<Bool>(false)
        try PosixThread.detach(stackSize: 256 * 1024) {
            ranElsewhere.store(pthread_equal(pthread_self(), callerThread) == 0, ordering: .relaxed)
            finished.fulfill()
        }
        wait(for: [finished], timeout: 10)
        XCTAssertTrue(ranElsewhere.load(ordering: .relaxed))
    }

    func testDetachRefusesAStackTooSmallForAThread() {
        XCTAssertThrowsError(try PosixThread.detach(stackSize: 1) {}) { error in
            XCTAssertEqual((error as? SystemError)?.errno, EINVAL)
        }
    }

    func testSleepLastsAtLeastTheRequestedTime() {
        let start = MonotonicClock.now()
        PosixThread.sleep(milliseconds: 20)
        XCTAssertGreaterThanOrEqual(MonotonicClock.now() - start, 20_000_000)
    }
}
