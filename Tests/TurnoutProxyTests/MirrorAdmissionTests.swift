@testable import TurnoutProxy
import XCTest

/// The pure parts of mirroring: which requests the sampling chooses, and the worker's budget of copies.
final class MirrorAdmissionTests: XCTestCase {
    func testNoneAndAllAreExact() {
        var sampler = MirrorSampler(seed: 7)
        for _ in 0..<10_000 {
            XCTAssertFalse(sampler.chooses(percent: 0))
            XCTAssertTrue(sampler.chooses(percent: 100))
        }
    }

    /// 100,000 draws at each percentage: Binomial(100000, p) lies within five standard deviations of its mean
    /// (at most 790 at p = 0.5) but for a broken sampler.
    func testASharesCountIsWithinTheBinomialBounds() {
        for (seed, percent) in [(1, 1), (2, 10), (3, 50), (4, 90), (5, 99)] as [(UInt64, Int)] {
            var sampler = MirrorSampler(seed: seed)
            var chosen = 0
            for _ in 0..<100_000 where sampler.chooses(percent: percent) { chosen += 1 }
            let p = Double(percent) / 100
            let mean = 100_000 * p, deviation = (100_000 * p * (1 - p)).squareRoot()
            XCTAssertLessThanOrEqual(abs(Double(chosen) - mean), 5 * deviation, "\(percent)%: \(chosen)")
        }
    }

    /// Each draw is independent of the last: runs of ten chosen in a row at 50 % come about 1 in 1,024 times.
    func testDrawsDoNotFollowAPattern() {
        var sampler = MirrorSampler(seed: 11)
        var pairs = [0, 0, 0, 0]
        var previous = sampler.chooses(percent: 50)
        for _ in 0..<40_000 {
            let next = sampler.chooses(percent: 50)
            pairs[(previous ? 2 : 0) + (next ? 1 : 0)] += 1
            previous = next
        }
        // Each of the four successions has probability 1/4: 10,000 ± 5 × 86.6.
        for count in pairs { XCTAssertLessThanOrEqual(abs(count - 10_000), 433, "\(pairs)") }
    }

    func testTheBudgetRefusesTheCopyPastEitherLimitAndTakesItBackWhenOver() {
        var budget = MirrorBudget(maxInFlight: 3, maxBytes: 1000)
        XCTAssertNil(budget.reserve(400))
        XCTAssertNil(budget.reserve(500))
        XCTAssertEqual(budget.reserve(101), .buffered)
        XCTAssertNil(budget.reserve(100))
        XCTAssertEqual([budget.inFlight, budget.bytes], [3, 1000])
        XCTAssertEqual(budget.reserve(0), .inFlight)
        budget.release(500)
        XCTAssertEqual([budget.inFlight, budget.bytes], [2, 500])
        XCTAssertEqual(budget.reserve(501), .buffered)
        XCTAssertNil(budget.reserve(500))
        for size in [400, 500, 100] { budget.release(size) }
        XCTAssertEqual([budget.inFlight, budget.bytes], [0, 0])
    }

    func testTheDefaultBudgetHoldsAFullBufferPerCopy() {
        let budget = MirrorBudget()
        XCTAssertEqual(budget.maxInFlight, 64)
        XCTAssertEqual(budget.maxBytes, 1 << 20)
    }
}
