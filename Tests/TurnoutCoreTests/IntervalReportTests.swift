import TurnoutCore
import XCTest

/// The log-once-per-interval counter behind the resource-shortage and unsent-probe lines.
final class IntervalReportTests: XCTestCase {
    private let second: UInt64 = 1_000_000_000

    func testTheFirstOccurrenceIsReportedThenOneLinePerIntervalWithTheCount() {
        var report = IntervalReport(intervalNanoseconds: 10 * second)
        XCTAssertFalse(report.isOngoing)
        XCTAssertEqual(report.record(now: 100 * second), 1)
        XCTAssertTrue(report.isOngoing)
        // A million more within the interval: no line.
        for step in 1...1_000_000 {
            XCTAssertNil(report.record(now: 100 * second + UInt64(step) * 9_000))
        }
        XCTAssertEqual(report.record(now: 110 * second), 1_000_001)
        XCTAssertNil(report.record(now: 115 * second))
        XCTAssertEqual(report.record(now: 121 * second), 2)
    }

    func testItEndsAfterAQuietIntervalAndTheNextOccurrenceIsReportedAtOnce() {
        var report = IntervalReport(intervalNanoseconds: 10 * second)
        XCTAssertNil(report.endIfQuiet(now: 50 * second), "nothing to end")
        XCTAssertEqual(report.record(now: 1 * second), 1)
        XCTAssertNil(report.record(now: 2 * second))
        XCTAssertNil(report.record(now: 3 * second))
        XCTAssertNil(report.endIfQuiet(now: 12 * second), "3 s + 10 s not reached yet")
        XCTAssertTrue(report.isOngoing)
        XCTAssertEqual(report.endIfQuiet(now: 13 * second), 2)
        XCTAssertFalse(report.isOngoing)
        XCTAssertNil(report.endIfQuiet(now: 60 * second))
        XCTAssertEqual(report.record(now: 61 * second), 1)
        XCTAssertEqual(report.endIfQuiet(now: 71 * second), 0)
    }
}
