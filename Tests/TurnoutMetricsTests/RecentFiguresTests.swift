import TurnoutMetrics
import XCTest

/// The per-second figures: what a span between two snapshots counts for each key, how the rings keep
/// seconds, and the window maths (rates, percentiles) the status and the alarms read. Counts are fed
/// through a real registry's counter blocks, as the workers write them.
final class RecentFiguresTests: XCTestCase {
    private let bounds = [0.001, 0.01, 0.1]
    private let production = RouteName(listener: "production")
    private let test = RouteName(listener: "test")

    // MARK: - Percentiles

    func testQuantilesInterpolateWithinTheBucketThatHoldsThem() {
        let counts = HistogramCounts(upperBounds: bounds, bucketCounts: [50, 40, 10, 0], sum: 0)
        XCTAssertEqual(counts.quantile(0.5)!, 0.001, accuracy: 1e-12)
        XCTAssertEqual(counts.quantile(0.25)!, 0.0005, accuracy: 1e-12)
        XCTAssertEqual(counts.quantile(0.7)!, 0.001 + 0.009 * 20 / 40, accuracy: 1e-12)
        XCTAssertEqual(counts.quantile(0.99)!, 0.01 + 0.09 * 9 / 10, accuracy: 1e-12)
        XCTAssertEqual(counts.quantile(1)!, 0.1, accuracy: 1e-12)
    }

    func testAQuantileOnABoundaryBeforeEmptyBucketsIsThatBound() {
        let counts = HistogramCounts(upperBounds: bounds, bucketCounts: [10, 0, 10, 0], sum: 0)
        XCTAssertEqual(counts.quantile(0.5)!, 0.001, accuracy: 1e-12)
        XCTAssertEqual(counts.quantile(0.55)!, 0.01 + 0.09 * 1 / 10, accuracy: 1e-12)
    }

    func testAQuantileAboveTheHighestBoundIsTheHighestBoundAndNoObservationsIsNil() {
        XCTAssertEqual(HistogramCounts(upperBounds: bounds, bucketCounts: [1, 0, 0, 99], sum: 0).quantile(0.5), 0.1)
        XCTAssertNil(HistogramCounts(upperBounds: bounds).quantile(0.99))
    }

    // MARK: - A span between two snapshots

    func testASpanCountsWhatChangedForEachGroupRouteAndPair() {
        let registry = MetricsRegistry(durationBuckets: bounds)
        let blueA = registry.routeCounters(listener: "production", group: "blue", target: "a:1")
        let blueB = registry.routeCounters(listener: "production", group: "blue", target: "b:1")
        let greenOnProduction = registry.routeCounters(listener: "production", group: "green", target: "c:1")
        let greenOnTest = registry.routeCounters(listener: "test", group: "green", target: "c:1")
        let productionListener = registry.listenerCounters(listener: "production")
        blueA.recordResponse(status: 200, durationNanoseconds: 500_000)  // before the span
        productionListener.recordProxyError(status: 503)
        let earlier = registry.snapshot()

        blueA.recordResponse(status: 200, durationNanoseconds: 500_000)
        blueA.recordResponse(status: 500, durationNanoseconds: 5_000_000)
        blueB.recordResponse(status: 404, durationNanoseconds: 50_000_000)
        blueB.recordConnectError()
        blueB.recordProxyError(status: 504)
        productionListener.recordProxyError(status: 504)
        productionListener.recordProxyError(status: 400)  // a client's error: not the route's failure
        productionListener.recordProxyError(status: 503)
        greenOnProduction.recordResponse(status: 200, durationNanoseconds: 200_000_000)
        greenOnTest.recordResponse(status: 502, durationNanoseconds: 2_000_000)
        for _ in 0..<3 { blueA.recordStarted() }
        blueA.recordFinished()
        greenOnTest.recordStarted()
        let span = FigureSpan(from: earlier, to: registry.snapshot())

        let blue = span.counts(.group("blue"))
        XCTAssertEqual([blue.responses, blue.responses5xx, blue.proxyErrors, blue.connectErrors], [3, 1, 1, 1])
        XCTAssertEqual(blue.latency.bucketCounts, [1, 1, 1, 0])
        XCTAssertEqual(blue.latency.sum, 0.0555, accuracy: 1e-12)
        XCTAssertEqual(blue.requests, 4)
        XCTAssertEqual(blue.errors5xx, 2)
        XCTAssertEqual(span.counts(.route(production, group: "blue")), blue)

        let green = span.counts(.group("green"))
        XCTAssertEqual([green.responses, green.responses5xx, green.proxyErrors], [2, 1, 0])
        XCTAssertEqual(green.latency.bucketCounts, [0, 1, 0, 1])
        XCTAssertEqual(span.counts(.route(test, group: "green")).responses, 1)
        XCTAssertEqual(span.counts(.route(production, group: "green")).responses, 1)

        let route = span.counts(.route(production))
        XCTAssertEqual([route.responses, route.responses5xx, route.proxyErrors, route.connectErrors], [4, 1, 2, 1],
                       "a route's proxy errors are its listener's server errors, the one with no target too")
        XCTAssertEqual(route.latency.bucketCounts, [1, 1, 1, 1])
        XCTAssertEqual(span.counts(.route(test)).responses5xx, 1)

        XCTAssertEqual(span.inFlight(.group("blue")), 2)
        XCTAssertEqual(span.inFlight(.route(production)), 2)
        XCTAssertEqual(span.inFlight(.route(test, group: "green")), 1)
        XCTAssertEqual(span.inFlight(.group("green")), 1)
        XCTAssertEqual(span.counts(.group("purple")), FigureCounts(durationBuckets: bounds))
    }

    func testASpanFromTheStartCountsEverything() {
        let registry = MetricsRegistry(durationBuckets: bounds)
        registry.routeCounters(listener: "production", group: "blue", target: "a:1")
            .recordResponse(status: 200, durationNanoseconds: 1)
        XCTAssertEqual(FigureSpan(from: nil, to: registry.snapshot()).counts(.group("blue")).responses, 1)
    }

    // MARK: - The rings

    /// A registry and a ring fed from it, one second at a time.
    private struct Feed {
        let registry: MetricsRegistry
        let blue: RouteCounters
        let green: RouteCounters
        let figures: RecentFigures

        init(capacity: Int, bounds: [Double]) {
            registry = MetricsRegistry(durationBuckets: bounds)
            blue = registry.routeCounters(listener: "production", group: "blue", target: "a:1")
            green = registry.routeCounters(listener: "production", group: "green", target: "b:1")
            figures = RecentFigures(seconds: capacity, durationBuckets: bounds)
        }

        /// `ok` 200s of 0.5 ms and `failed` 500s of 50 ms on blue, then a sample at `second`.
        func second(_ second: UInt64, ok: Int = 0, failed: Int = 0, green greenCount: Int = 0) {
            for _ in 0..<ok { blue.recordResponse(status: 200, durationNanoseconds: 500_000) }
            for _ in 0..<failed { blue.recordResponse(status: 500, durationNanoseconds: 50_000_000) }
            for _ in 0..<greenCount { green.recordResponse(status: 200, durationNanoseconds: 5_000_000) }
            figures.record(registry, second: second)
        }
    }

    func testTheFirstSampleIsTheBaselineAndEachLaterOneFillsItsSecond() {
        let feed = Feed(capacity: 900, bounds: bounds)
        feed.second(100, ok: 7)  // before the baseline: not in any second
        XCTAssertEqual(feed.figures.window(.group("blue"), seconds: 10).seconds, 0)
        feed.second(101, ok: 3)
        feed.second(102, ok: 1, failed: 1)

        let window = feed.figures.window(.group("blue"), seconds: 10)
        XCTAssertEqual(window.seconds, 2, "only seconds with figures count")
        XCTAssertEqual(window.requests, 5)
        XCTAssertEqual(window.requestRate, 2.5)
        XCTAssertEqual(window.errorRate5xx, 0.2)
        XCTAssertEqual(feed.figures.series(.group("blue"), seconds: 10).map(\.counts.responses), [3, 2])
        XCTAssertEqual(feed.figures.series(.group("blue"), seconds: 10).map(\.second), [101, 102])
        XCTAssertEqual(feed.figures.window(.group("blue"), seconds: 1).requests, 2)
        XCTAssertEqual(feed.figures.keys, [.group("blue"), .group("green"), .route(production),
                                           .route(production, group: "blue"), .route(production, group: "green")],
                       "every registered block has its keys, with traffic or not")
        XCTAssertEqual(feed.figures.window(.group("green"), seconds: 10).requests, 0)
    }

    func testASkippedSecondReadsEmptyAndALateSampleKeepsWhatItCarries() {
        let feed = Feed(capacity: 900, bounds: bounds)
        feed.second(100)
        feed.second(101, ok: 2)
        feed.second(103, ok: 6)  // the sample of 102 never came: its requests land in 103
        feed.second(103, ok: 1)  // a second sample within 103 adds to it
        feed.second(102, ok: 50)  // a second before the latest is ignored, and so are its counts
        XCTAssertEqual(feed.figures.series(.group("blue"), seconds: 3).map(\.counts.responses), [2, 0, 7])
        XCTAssertEqual(feed.figures.window(.group("blue"), seconds: 3).requests, 9)
        feed.second(104, ok: 0)
        XCTAssertEqual(feed.figures.window(.group("blue"), seconds: 1).requests, 50,
                       "the ignored sample's counts show up in the next one")
    }

    func testTheRingKeepsItsCapacityOfSecondsAndOverwritesTheOldest() {
        let feed = Feed(capacity: 3, bounds: bounds)
        feed.second(10)
        for (offset, count) in [1, 2, 3, 4, 5].enumerated() { feed.second(11 + UInt64(offset), ok: count) }
        XCTAssertEqual(feed.figures.series(.group("blue"), seconds: 10).map(\.counts.responses), [3, 4, 5])
        XCTAssertEqual(feed.figures.series(.group("blue"), seconds: 10).map(\.second), [13, 14, 15])
        XCTAssertEqual(feed.figures.window(.group("blue"), seconds: 900).seconds, 3)
        feed.second(20, ok: 9)  // four seconds without a sample: their old slots must not show
        XCTAssertEqual(feed.figures.series(.group("blue"), seconds: 3).map(\.counts.responses), [0, 0, 9])
    }

    func testAWindowsPercentilesAndRatesComeFromItsSecondsSummed() {
        let feed = Feed(capacity: 900, bounds: bounds)
        feed.second(0)
        feed.second(1, ok: 98)
        feed.second(2, failed: 2, green: 10)
        let blue = feed.figures.window(.group("blue"), seconds: 60)
        XCTAssertEqual(blue.counts.latency.bucketCounts, [98, 0, 2, 0])
        XCTAssertEqual(blue.p50!, 0.001 * 50 / 98, accuracy: 1e-12)
        XCTAssertEqual(blue.p99!, 0.01 + 0.09 * 1 / 2, accuracy: 1e-12)
        XCTAssertEqual(blue.errorRate5xx, 0.02)
        XCTAssertEqual(blue.requestRate, 50)
        let route = feed.figures.window(.route(production), seconds: 60)
        XCTAssertEqual(route.requests, 110)
        XCTAssertEqual(feed.figures.window(.group("green"), seconds: 1).p50!, 0.001 + 0.009 * 5 / 10, accuracy: 1e-12)
        XCTAssertNil(feed.figures.window(.group("nobody"), seconds: 60).p99)
        XCTAssertNil(feed.figures.window(.group("nobody"), seconds: 60).errorRate5xx)
    }

    func testInFlightIsTheLatestSamplesGauge() {
        let feed = Feed(capacity: 900, bounds: bounds)
        feed.second(0)
        for _ in 0..<5 { feed.blue.recordStarted() }
        feed.second(1)
        XCTAssertEqual(feed.figures.window(.group("blue"), seconds: 60).inFlight, 5)
        for _ in 0..<4 { feed.blue.recordFinished() }
        feed.second(2)
        XCTAssertEqual(feed.figures.window(.route(production, group: "blue"), seconds: 60).inFlight, 1)
        XCTAssertEqual(feed.figures.series(.group("blue"), seconds: 2).map(\.inFlight), [5, 1])
    }

    // MARK: - Alarms

    private func window(requests ok: UInt64, failed: UInt64 = 0, slow: UInt64 = 0, connectErrors: UInt64 = 0) -> WindowFigures {
        WindowFigures(seconds: 30, counts: FigureCounts(
            responses: ok + failed + slow, responses5xx: failed, proxyErrors: 0, connectErrors: connectErrors,
            latency: HistogramCounts(upperBounds: bounds, bucketCounts: [ok + failed, 0, slow, 0], sum: 0)), inFlight: 0)
    }

    func testAlarmsJudgeRateLatencyAndRatioFromMinRequestsOn() {
        let alarms = FigureAlarms(max5xxRate: 0.01, maxP99: 0.05, maxP99Ratio: 2, minRequests: 20)
        XCTAssertEqual(alarms.breaches(candidate: window(requests: 100), baseline: window(requests: 100)), [])
        XCTAssertEqual(alarms.breaches(candidate: window(requests: 98, failed: 2), baseline: nil),
                       [FigureAlarmBreach(alarm: .errorRate5xx, value: 0.02, threshold: 0.01)])
        XCTAssertEqual(alarms.breaches(candidate: window(requests: 10, failed: 9), baseline: nil), [],
                       "19 requests are under the floor")

        let slow = alarms.breaches(candidate: window(requests: 90, slow: 10), baseline: window(requests: 100))
        XCTAssertEqual(slow.map(\.alarm), [.p99, .p99Ratio])
        XCTAssertEqual(slow[0].value, 0.01 + 0.09 * 9 / 10, accuracy: 1e-12)
        XCTAssertEqual(slow[1].value, (0.01 + 0.09 * 9 / 10) / (0.001 * 99 / 100), accuracy: 1e-9)
        XCTAssertEqual(alarms.breaches(candidate: window(requests: 90, slow: 10), baseline: window(requests: 5)).map(\.alarm),
                       [.p99], "the ratio needs the floor in the live group's window too")
    }

    func testConnectErrorsAreJudgedWhateverTheRequestCount() {
        let alarms = FigureAlarms(maxConnectErrors: 3, minRequests: 20)
        XCTAssertEqual(alarms.breaches(candidate: window(requests: 0, connectErrors: 4), baseline: nil),
                       [FigureAlarmBreach(alarm: .connectErrors, value: 4, threshold: 3)])
        XCTAssertEqual(alarms.breaches(candidate: window(requests: 0, connectErrors: 3), baseline: nil), [])
    }
}
