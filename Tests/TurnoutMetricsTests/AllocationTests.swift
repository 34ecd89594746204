import TurnoutMetrics
import XCTest

/// Recording must not allocate: the main thread's heap holds the same bytes before and after 100,000
/// rounds of every recording call. Memory a record kept would show, 100,000 times over, in every
/// attempt; an attempt may be disturbed by the test runner's own rare allocations on that heap, so the
/// check passes when one of a few attempts is exact. (A record that allocated and freed again within
/// the call would not show; the code path has no allocation at all.)
final class AllocationTests: XCTestCase {
    func testRecordingDoesNotAllocate() throws {
        try XCTSkipIf(mallocIsReplaced(), "malloc is not glibc's (a sanitizer's allocator): its arena shows nothing")
        let registry = MetricsRegistry()
        let route = registry.routeCounters(listener: "production", group: "blue", target: "127.0.0.1:3000")
        let listener = registry.listenerCounters(listener: "production")
        let histogram = Histogram()
        record(route, listener, histogram, times: 10)  // warm-up: anything lazily set up on first use
        _ = try mainArenaBytesInUse()  // warm-up: whatever reading the statistics sets up once

        var growthPerAttempt: [Int] = []
        for _ in 0..<5 {
            let before = try mainArenaBytesInUse()
            record(route, listener, histogram, times: 100_000)
            growthPerAttempt.append(try mainArenaBytesInUse() - before)
            if growthPerAttempt.last == 0 { break }
        }

        XCTAssertEqual(growthPerAttempt.last, 0, "heap growth per attempt: \(growthPerAttempt)")
        XCTAssertEqual(registry.snapshot().listeners["production"]?.retries, UInt64(10 + growthPerAttempt.count * 100_000))
    }

    private func record(_ route: RouteCounters, _ listener: ListenerCounters, _ histogram: Histogram, times: Int) {
        for iteration in 0..<times {
            route.recordResponse(status: 200 + iteration % 400, durationNanoseconds: UInt64(iteration) * 1_000)
            route.recordConnectError()
            route.recordStarted()
            route.recordProxyError(status: 500 + iteration % 100)
            route.recordFinished()
            listener.connectionOpened()
            listener.recordProxyError(status: 400 + iteration % 200)
            listener.recordRetry()
            listener.recordSplicedRequestBytes(UInt64(iteration))
            listener.recordSplicedResponseBytes(UInt64(iteration))
            listener.connectionClosed()
            histogram.observe(nanoseconds: UInt64(iteration))
        }
    }
}
