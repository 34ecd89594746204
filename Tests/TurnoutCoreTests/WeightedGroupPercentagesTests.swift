import TurnoutCore
import XCTest

/// Weights scaled in proportion to whole percentages (saved state from when weights were relative, the
/// examples of refused partial weights).
final class WeightedGroupPercentagesTests: XCTestCase {
    func testExactProportionsAreKept() {
        XCTAssertEqual(WeightedGroup.apportion([3, 1]), [75, 25])
        XCTAssertEqual(WeightedGroup.apportion([1, 1]), [50, 50])
        XCTAssertEqual(WeightedGroup.apportion([900, 100]), [90, 10])
        XCTAssertEqual(WeightedGroup.apportion([7]), [100])
        XCTAssertEqual(WeightedGroup.apportion([90, 10]), [90, 10], "percentages stay as they are")
        XCTAssertEqual(WeightedGroup.apportion([0, 5, 0]), [0, 100, 0])
    }

    func testRoundingByLargestRemainderAddsUpToTheTotal() {
        XCTAssertEqual(WeightedGroup.apportion([1, 2]), [33, 67])
        XCTAssertEqual(WeightedGroup.apportion([1, 1, 1]), [34, 33, 33], "ties go to the first")
        XCTAssertEqual(WeightedGroup.apportion([2, 1, 1, 1, 1, 1]), [29, 15, 14, 14, 14, 14])
        XCTAssertEqual(WeightedGroup.apportion([80, 10], to: 80), [71, 9])
        XCTAssertEqual(WeightedGroup.apportion([1, 1], to: 0), [0, 0])
        for weights in [[1, 2], [999, 1, 500], [5, 5, 5, 5, 5, 5, 5], [13, 29, 31, 999], [1, 998]] {
            XCTAssertEqual(WeightedGroup.apportion(weights)?.reduce(0, +), 100, "\(weights)")
        }
    }

    func testAGroupThatHadTrafficKeepsAtLeastOne() {
        XCTAssertEqual(WeightedGroup.apportion([999, 1]), [99, 1])
        XCTAssertEqual(WeightedGroup.apportion([999, 1, 0]), [99, 1, 0], "a group without weight stays without")
        XCTAssertEqual(WeightedGroup.apportion([998, 1, 1]), [98, 1, 1])
        XCTAssertEqual(WeightedGroup.apportion([1, 1, 1], to: 2), [1, 1, 0], "more positive weights than the total")
    }

    func testNothingToApportion() {
        XCTAssertNil(WeightedGroup.apportion([]))
        XCTAssertNil(WeightedGroup.apportion([0, 0]))
        XCTAssertNil(WeightedGroup.apportion([5, -1]))
        XCTAssertNil(WeightedGroup.apportion([Int.max, 1]), "would overflow")
    }

    func testForwardInPercentagesAndDescribed() {
        let forward = [WeightedGroup(group: "blue", weight: 3), WeightedGroup(group: "green", weight: 1)]
        XCTAssertEqual(WeightedGroup.inPercentages(forward),
                       [WeightedGroup(group: "blue", weight: 75), WeightedGroup(group: "green", weight: 25)])
        XCTAssertNil(WeightedGroup.inPercentages([WeightedGroup(group: "blue", weight: 0)]))
        XCTAssertEqual(WeightedGroup.describe(forward), "blue=3 green=1")
    }
}
