import TurnoutMetrics
import XCTest

/// Recording must not allocate: the heap's in-use bytes are the same before and after many records
/// (memory a record kept would show; the code path has no allocation at all, which this cannot see).
final class AllocationTests: XCTestCase {
    func testRecordingDoesNotAllocate() throws {
        let registry = MetricsRegistry()
        let route = registry.routeCounters(listener: "production", group: "blue", target: "127.0.0.1:3000")
        let listener = registry.listenerCounters(listener: "production")
        let histogram = Histogram()
        record(route, listener, histogram, times: 10)  // warm-up: anything lazily set up on first use

        _ = try heapBytesInUse()  // warm-up: whatever reading the statistics sets up once
        let before = try heapBytesInUse()
        let again = try heapBytesInUse()
        print("HEAP", before, again, try heapBytesInUse(), try heapBytesInUse())
        record(route, listener, histogram, times: 100_000)
        let after = try heapBytesInUse()

        XCTAssertEqual(after, before)
        XCTAssertEqual(registry.snapshot().listeners["production"]?.retries, 100_010)
    }

    private func record(_ route: RouteCounters, _ listener: ListenerCounters, _ histogram: Histogram, times: Int) {
        for iteration in 0..<times {
            route.recordResponse(status: 200 + iteration % 400, durationNanoseconds: UInt64(iteration) * 1_000)
            route.recordConnectError()
            listener.connectionOpened()
            listener.recordProxyError(status: 400 + iteration % 200)
            listener.recordRetry()
            listener.connectionClosed()
            histogram.observe(nanoseconds: UInt64(iteration))
        }
    }
}
