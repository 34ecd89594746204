import TurnoutCore
import XCTest

final class TargetPickerTests: XCTestCase {
    func testRoundRobinCycles() {
        var picker = TargetPicker(algorithm: .roundRobin, count: 3)
        let picks = (0..<7).map { _ in picker.next(outstanding: { _ in 0 }, isExcluded: { _ in false })! }
        XCTAssertEqual(picks, [0, 1, 2, 0, 1, 2, 0])
    }

    func testRoundRobinIgnoresOutstanding() {
        var picker = TargetPicker(algorithm: .roundRobin, count: 2)
        let picks = (0..<4).map { _ in picker.next(outstanding: { $0 == 0 ? 100 : 0 }, isExcluded: { _ in false })! }
        XCTAssertEqual(picks, [0, 1, 0, 1])
    }

    func testRoundRobinSkipsExcluded() {
        var picker = TargetPicker(algorithm: .roundRobin, count: 3)
        let picks = (0..<4).map { _ in picker.next(isExcluded: { $0 == 1 })! }
        XCTAssertEqual(picks, [0, 2, 0, 2])
    }

    func testRoundRobinContinuesAfterTheExcludedOne() {
        var picker = TargetPicker(algorithm: .roundRobin, count: 4)
        XCTAssertEqual(picker.next(isExcluded: { _ in false }), 0)
        XCTAssertEqual(picker.next(isExcluded: { $0 == 1 || $0 == 2 }), 3)
        XCTAssertEqual(picker.next(isExcluded: { _ in false }), 0)
        XCTAssertEqual(picker.next(isExcluded: { _ in false }), 1)
    }

    func testNilWhenEmptyOrAllExcluded() {
        var empty = TargetPicker(algorithm: .roundRobin, count: 0)
        XCTAssertNil(empty.next(outstanding: { _ in 0 }, isExcluded: { _ in false }))
        var emptyLeast = TargetPicker(algorithm: .leastOutstandingRequests, count: 0)
        XCTAssertNil(emptyLeast.next(outstanding: { _ in 0 }, isExcluded: { _ in false }))
        for algorithm in TargetAlgorithm.allCases {
            var picker = TargetPicker(algorithm: algorithm, count: 3)
            XCTAssertNil(picker.next(outstanding: { _ in 0 }, isExcluded: { _ in true }), "\(algorithm)")
        }
    }

    func testLeastOutstandingPicksTheLeastLoaded() {
        var picker = TargetPicker(algorithm: .leastOutstandingRequests, count: 3)
        let load = [5, 1, 3]
        let picks = (0..<3).map { _ in picker.next(outstanding: { load[$0] }, isExcluded: { _ in false })! }
        XCTAssertEqual(picks, [1, 1, 1])
    }

    func testLeastOutstandingBreaksTiesRoundRobin() {
        var picker = TargetPicker(algorithm: .leastOutstandingRequests, count: 3)
        let idle = (0..<6).map { _ in picker.next(outstanding: { _ in 0 }, isExcluded: { _ in false })! }
        XCTAssertEqual(idle, [0, 1, 2, 0, 1, 2])

        var tied = TargetPicker(algorithm: .leastOutstandingRequests, count: 3)
        let load = [2, 9, 2]
        let picks = (0..<4).map { _ in tied.next(outstanding: { load[$0] }, isExcluded: { _ in false })! }
        XCTAssertEqual(picks, [0, 2, 0, 2])
    }

    func testLeastOutstandingSkipsExcludedEvenWhenIdlest() {
        var picker = TargetPicker(algorithm: .leastOutstandingRequests, count: 3)
        let load = [0, 4, 7]
        XCTAssertEqual(picker.next(outstanding: { load[$0] }, isExcluded: { $0 == 0 }), 1)
    }

    func testLeastOutstandingBalancesGrowingLoad() {
        var picker = TargetPicker(algorithm: .leastOutstandingRequests, count: 3)
        var load = [4, 0, 1]
        var picks: [Int] = []
        for _ in 0..<7 {
            let index = picker.next(outstanding: { load[$0] }, isExcluded: { _ in false })!
            load[index] += 1
            picks.append(index)
        }
        XCTAssertEqual(picks, [1, 2, 1, 2, 1, 2, 1])
        XCTAssertEqual(load, [4, 4, 4])
    }
}
