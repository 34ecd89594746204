import TurnoutCore
import XCTest

final class SmoothWeightedPickerTests: XCTestCase {
    private func picks(_ picker: inout SmoothWeightedPicker, _ count: Int) -> [Int] {
        (0..<count).map { _ in picker.next()! }
    }

    private func counts(_ sequence: [Int], buckets: Int) -> [Int] {
        sequence.reduce(into: [Int](repeating: 0, count: buckets)) { $0[$1] += 1 }
    }

    /// Longest run of `value` in `sequence` read as a cycle (a run may wrap from the end to the start).
    private func longestRun(of value: Int, in sequence: [Int]) -> Int {
        let doubled = sequence + sequence
        var longest = 0
        var current = 0
        for element in doubled {
            current = element == value ? current + 1 : 0
            longest = max(longest, min(current, sequence.count))
        }
        return longest
    }

    func testNinetyTenGivesExactCountsOver1000Picks() {
        var picker = SmoothWeightedPicker(weights: [90, 10])
        XCTAssertEqual(counts(picks(&picker, 1000), buckets: 2), [900, 100])
    }

    func testNinetyTenIsInterleaved() {
        var picker = SmoothWeightedPicker(weights: [90, 10])
        let sequence = picks(&picker, 1000)
        XCTAssertEqual(longestRun(of: 0, in: sequence), 9)
        XCTAssertEqual(longestRun(of: 1, in: sequence), 1)
        // Every window of 10 consecutive picks holds exactly one pick of the light group.
        for start in 0...(sequence.count - 10) {
            XCTAssertEqual(sequence[start..<start + 10].filter { $0 == 1 }.count, 1, "window at \(start)")
        }
    }

    func testEqualWeightsStrictlyRotate() {
        var two = SmoothWeightedPicker(weights: [50, 50])
        XCTAssertEqual(picks(&two, 6), [0, 1, 0, 1, 0, 1])
        var three = SmoothWeightedPicker(weights: [1, 1, 1])
        let sequence = picks(&three, 999)
        XCTAssertEqual(Array(sequence.prefix(6)), [0, 1, 2, 0, 1, 2])
        XCTAssertEqual(counts(sequence, buckets: 3), [333, 333, 333])
        XCTAssertEqual(sequence, (0..<999).map { $0 % 3 })
    }

    func testMatchesNginxReferenceSequence() {
        // The example from nginx's ngx_http_upstream_round_robin.c: weights 5, 1, 1 → a a b a c a a.
        var picker = SmoothWeightedPicker(weights: [5, 1, 1])
        XCTAssertEqual(picks(&picker, 14), [0, 0, 1, 0, 2, 0, 0, 0, 0, 1, 0, 2, 0, 0])
    }

    func testUnevenWeightsGiveExactCountsPerCycle() {
        var picker = SmoothWeightedPicker(weights: [999, 1, 0, 500])
        XCTAssertEqual(counts(picks(&picker, 1500 * 3), buckets: 4), [2997, 3, 0, 1500])
    }

    func testZeroWeightIsNeverPicked() {
        var picker = SmoothWeightedPicker(weights: [0, 7, 0])
        XCTAssertEqual(picks(&picker, 5), [1, 1, 1, 1, 1])
    }

    func testAllZeroOrEmptyGivesNil() {
        var zeros = SmoothWeightedPicker(weights: [0, 0])
        XCTAssertNil(zeros.next())
        var empty = SmoothWeightedPicker(weights: [])
        XCTAssertNil(empty.next())
        var negative = SmoothWeightedPicker(weights: [-5])
        XCTAssertNil(negative.next())
    }

    func testSkippingSharesAmongTheOthersByTheirWeights() {
        var picker = SmoothWeightedPicker(weights: [50, 30, 20])
        let sequence = (0..<500).map { _ in picker.next(skipping: { $0 == 0 })! }
        XCTAssertEqual(counts(sequence, buckets: 3), [0, 300, 200])
    }

    func testSkippingEveryChoiceGivesNil() {
        var picker = SmoothWeightedPicker(weights: [50, 50])
        XCTAssertNil(picker.next(skipping: { _ in true }))
        // A skip-everything call leaves the state as it was.
        XCTAssertEqual(picks(&picker, 4), [0, 1, 0, 1])
    }

    func testSkippingOnlyTheWeightedChoiceGivesNilWhenTheRestAreZero() {
        var picker = SmoothWeightedPicker(weights: [100, 0])
        XCTAssertNil(picker.next(skipping: { $0 == 0 }))
    }

    func testDistributionRecoversAfterASkip() {
        var picker = SmoothWeightedPicker(weights: [1, 1])
        XCTAssertEqual(picker.next(skipping: { $0 == 0 }), 1)
        // The skipped round leaves no debt behind: over the next 100 picks the split is exact again.
        XCTAssertEqual(counts(picks(&picker, 100), buckets: 2), [50, 50])
    }
}
