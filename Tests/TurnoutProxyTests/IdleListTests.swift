import XCTest
@testable import TurnoutProxy

/// The free lists' high-water mark and decay: what a burst left goes within seconds, what a steady load
/// uses every period stays.
final class IdleListTests: XCTestCase {
    private final class Item {}

    private func filled(_ count: Int, limit: Int = 1024, reserve: Int = 4) -> IdleList<Item> {
        var list = IdleList<Item>(limit: limit, reserve: reserve)
        for _ in 0..<count { XCTAssertTrue(list.push(Item())) }
        return list
    }

    func testPushStopsAtTheLimitAndPopIsLastInFirstOut() {
        var list = IdleList<Item>(limit: 2, reserve: 0)
        let first = Item(), second = Item()
        XCTAssertNil(list.pop())
        XCTAssertTrue(list.push(first))
        XCTAssertTrue(list.push(second))
        XCTAssertFalse(list.push(Item()), "above the high-water mark the caller lets it go")
        XCTAssertTrue(list.pop() === second)
        XCTAssertTrue(list.pop() === first)
        XCTAssertNil(list.pop())
    }

    func testABurstsLeftoversHalveEveryPeriodDownToTheReserve() {
        var list = filled(100)
        // The burst's objects came back during the first period: nothing was idle all through it.
        XCTAssertEqual(list.trim(), 0)
        var counts: [Int] = []
        while list.count > 4 {
            list.trim()
            counts.append(list.count)
        }
        XCTAssertEqual(counts, [52, 28, 16, 10, 7, 5, 4])
        XCTAssertEqual(list.trim(), 0)
        XCTAssertEqual(list.count, 4)
    }

    func testWhatASteadyLoadUsesEveryPeriodIsKept() {
        var list = filled(30)
        list.trim()
        for _ in 0..<20 {
            // Each period takes 20 and gives them back: only 10 were idle throughout, 6 above the reserve.
            var taken: [Item] = []
            for _ in 0..<20 { taken.append(list.pop()!) }
            for item in taken { XCTAssertTrue(list.push(item)) }
            list.trim()
        }
        XCTAssertEqual(list.count, 24, "the 20 in use each period stay, with the reserve")
    }

    func testAnEmptyListMeansNothingWasSpare() {
        var list = filled(10)
        list.trim()
        for _ in 0..<10 { _ = list.pop() }
        XCTAssertNil(list.pop())
        for _ in 0..<10 { XCTAssertTrue(list.push(Item())) }
        XCTAssertEqual(list.trim(), 0)
        XCTAssertEqual(list.count, 10)
    }
}
