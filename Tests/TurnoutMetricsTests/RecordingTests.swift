import TurnoutMetrics
import XCTest

final class RecordingTests: XCTestCase {
    private let route = MetricsSnapshot.RouteKey(listener: "production", group: "blue", target: "127.0.0.1:3000")

    func testStatusClassMapping() {
        let registry = MetricsRegistry()
        let counters = registry.routeCounters(listener: route.listener, group: route.group, target: route.target)
        let expectedClass = [
            0: 1, 99: 1, 100: 1, 101: 1, 199: 1,
            200: 2, 204: 2, 299: 2,
            300: 3, 304: 3, 399: 3,
            400: 4, 404: 4, 499: 4,
            500: 5, 503: 5, 599: 5, 600: 5, 999: 5,
        ]
        for (status, statusClass) in expectedClass {
            let before = registry.snapshot().routes[route]?.responses(statusClass: statusClass) ?? 0
            counters.recordResponse(status: status, durationNanoseconds: 0)
            XCTAssertEqual(registry.snapshot().routes[route]?.responses(statusClass: statusClass), before + 1,
                           "status \(status)")
        }
        XCTAssertEqual(registry.snapshot().routes[route]?.responsesByClass, [5, 3, 3, 3, 5])
    }

    func testDurationBucketBoundsAreInclusive() {
        let registry = MetricsRegistry(durationBuckets: [0.001, 0.01])
        let counters = registry.routeCounters(listener: route.listener, group: route.group, target: route.target)
        counters.recordResponse(status: 200, durationNanoseconds: 0)
        counters.recordResponse(status: 200, durationNanoseconds: 1_000_000)
        counters.recordResponse(status: 200, durationNanoseconds: 1_000_001)
        counters.recordResponse(status: 200, durationNanoseconds: 10_000_000)
        counters.recordResponse(status: 200, durationNanoseconds: 10_000_001)
        let duration = registry.snapshot().duration(group: "blue")
        XCTAssertEqual(duration.bucketCounts, [2, 2, 1])
        XCTAssertEqual(duration.count, 5)
        XCTAssertEqual(duration.sum, 0.022000002, accuracy: 1e-12)
        XCTAssertEqual(registry.snapshot().duration(route: route), duration)
    }

    func testGroupDurationSumsOverListenersAndTargetsOnly() {
        let registry = MetricsRegistry(durationBuckets: [1])
        registry.routeCounters(listener: "production", group: "blue", target: "a:1")
            .recordResponse(status: 200, durationNanoseconds: 1)
        registry.routeCounters(listener: "test", group: "blue", target: "b:1")
            .recordResponse(status: 200, durationNanoseconds: 2)
        registry.routeCounters(listener: "test", group: "green", target: "c:1")
            .recordResponse(status: 200, durationNanoseconds: 4)
        let snapshot = registry.snapshot()
        XCTAssertEqual(snapshot.duration(group: "blue"),
                       HistogramCounts(upperBounds: [1], bucketCounts: [2, 0], sum: 3e-9))
        XCTAssertEqual(snapshot.duration(group: "none"), HistogramCounts(upperBounds: [1]))
    }

    func testProxyErrorCodes() {
        let registry = MetricsRegistry()
        let counters = registry.listenerCounters(listener: "production")
        for status in [400, 408, 431, 502, 502, 503, 504, 599] {
            counters.recordProxyError(status: status)
        }
        counters.recordProxyError(status: 399)
        counters.recordProxyError(status: 600)
        XCTAssertEqual(registry.snapshot().listeners["production"]?.proxyErrors,
                       [400: 1, 408: 1, 431: 1, 502: 2, 503: 1, 504: 1, 599: 1,
                        MetricsSnapshot.ListenerTotals.otherProxyErrorStatus: 2])
        XCTAssertTrue(registry.render().contains("turnout_proxy_errors_total{listener=\"production\",code=\"other\"} 2\n"))
    }

    func testActiveConnectionsAreOpenedMinusClosedOverWorkers() {
        let registry = MetricsRegistry()
        let worker1 = registry.listenerCounters(listener: "production")
        let worker2 = registry.listenerCounters(listener: "production")
        for _ in 0..<5 { worker1.connectionOpened() }
        for _ in 0..<2 { worker1.connectionClosed() }
        worker2.connectionOpened()
        worker2.connectionClosed()
        worker2.recordRetry()
        worker1.recordRetry()
        let totals = registry.snapshot().listeners["production"]
        XCTAssertEqual(totals?.activeConnections, 3)
        XCTAssertEqual(totals?.connectionsOpened, 6)
        XCTAssertEqual(totals?.connectionsClosed, 3)
        XCTAssertEqual(totals?.retries, 2)
    }

    func testInFlightIsStartedMinusFinishedOverWorkersAndTargetsOfOneListenerAndGroup() {
        let registry = MetricsRegistry()
        let worker1 = registry.routeCounters(listener: "production", group: "blue", target: "a:1")
        let worker2 = registry.routeCounters(listener: "production", group: "blue", target: "a:1")
        let otherTarget = registry.routeCounters(listener: "production", group: "blue", target: "b:1")
        let otherListener = registry.routeCounters(listener: "test", group: "blue", target: "a:1")
        for _ in 0..<4 { worker1.recordStarted() }
        worker1.recordFinished()
        worker2.recordStarted()
        for _ in 0..<2 { otherTarget.recordStarted() }
        for _ in 0..<2 { otherTarget.recordFinished() }
        otherListener.recordStarted()

        XCTAssertEqual(registry.requestsInFlight(listener: "production", group: "blue"), 4)
        XCTAssertEqual(registry.requestsInFlight(listener: "test", group: "blue"), 1)
        XCTAssertEqual(registry.requestsInFlight(listener: "production", group: "green"), 0)
        let totals = registry.snapshot().routes[MetricsSnapshot.RouteKey(listener: "production", group: "blue", target: "a:1")]
        XCTAssertEqual(totals?.requestsStarted, 5)
        XCTAssertEqual(totals?.requestsFinished, 1)
        XCTAssertEqual(totals?.inFlight, 4)
    }

    func testARoutesProxyErrorsCountOnlyServerErrors() {
        let registry = MetricsRegistry()
        let counters = registry.routeCounters(listener: route.listener, group: route.group, target: route.target)
        for status in [400, 431, 499, 500, 502, 504, 599] { counters.recordProxyError(status: status) }
        XCTAssertEqual(registry.snapshot().routes[route]?.proxyErrors, 4)
    }

    func testConnectErrorsSumOverListeners() {
        let registry = MetricsRegistry()
        registry.routeCounters(listener: "production", group: "blue", target: "a:1").recordConnectError()
        registry.routeCounters(listener: "test", group: "blue", target: "a:1").recordConnectError()
        XCTAssertTrue(registry.render().contains("turnout_upstream_connect_errors_total{target_group=\"blue\",target=\"a:1\"} 2\n"))
    }

    func testHistogramObservationsAndClamping() {
        let histogram = Histogram(upperBounds: [0.5, 1])
        histogram.observe(seconds: 0.5)
        histogram.observe(seconds: -1)
        histogram.observe(seconds: .nan)
        histogram.observe(nanoseconds: 500_000_001)
        histogram.observe(seconds: 3)
        XCTAssertEqual(histogram.counts, HistogramCounts(upperBounds: [0.5, 1], bucketCounts: [3, 1, 1], sum: 4.000000001))
        XCTAssertEqual(histogram.counts.count, 5)
    }

    func testHistogramCountsAdd() {
        var total = HistogramCounts(upperBounds: [1], bucketCounts: [1, 2], sum: 3)
        total.add(HistogramCounts(upperBounds: [1], bucketCounts: [4, 0], sum: 0.5))
        XCTAssertEqual(total, HistogramCounts(upperBounds: [1], bucketCounts: [5, 2], sum: 3.5))
    }
}
