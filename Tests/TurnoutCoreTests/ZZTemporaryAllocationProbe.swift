import Foundation
import TurnoutCore
import XCTest

final class ZZTemporaryAllocationProbe: XCTestCase {
    func testPicksDoNotAllocate() throws {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "alloc_count") else { throw XCTSkip("no shim") }
        let count = unsafeBitCast(symbol, to: (@convention(c) () -> UInt).self)
        var weighted = SmoothWeightedPicker(weights: [90, 10, 0, 5])
        var target = TargetPicker(algorithm: .leastOutstandingRequests, count: 5)
        let loads = [3, 1, 4, 1, 5]
        var sink = 0
        _ = weighted.next(); _ = target.next(outstanding: { loads[$0] }, isExcluded: { _ in false })
        let before = count()
        for i in 0..<100_000 {
            sink &+= weighted.next(skipping: { $0 == i % 3 }) ?? 0
            sink &+= weighted.next() ?? 0
            sink &+= target.next(outstanding: { loads[$0] }, isExcluded: { $0 == i % 5 }) ?? 0
        }
        let after = count()
        print("ALLOCATIONS during 300k picks: \(after - before) sink \(sink)")
    }
}
