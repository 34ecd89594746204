import Foundation
import Synchronization
import TurnoutMetrics
import XCTest

final class ConcurrentRecordingTests: XCTestCase {
    private static let writers = 4
    private static let iterations = 100_000

    /// Four workers write their own blocks of the same route and listener while another thread scrapes
    /// over and over: every scrape sees counters that only grow and a histogram whose `_count` is its
    /// `+Inf` bucket, and the end totals are exact.
    func testWritersOnTheirOwnBlocksEndWithExactTotalsUnderConcurrentScrapes() throws {
        let registry = MetricsRegistry(durationBuckets: [0.001])
        let writersDone = Mutex(0)
        let scrapeFailures = Mutex<[String]>([])
        let finished = DispatchGroup()

        // The scraper starts first so that it overlaps the writers from their first record.
        finished.enter()
        Thread {
            var previous: [String: Double] = [:]
            var failures: [String] = []
            repeat {
                let values = Self.sampleValues(registry.render())
                for (series, value) in values where !series.hasPrefix("turnout_active_connections")
                    && value < previous[series] ?? 0 {
                    failures.append("\(series) went from \(previous[series]!) to \(value)")
                }
                if let count = values[#"turnout_request_duration_seconds_count{target_group="blue"}"#],
                   count != values[#"turnout_request_duration_seconds_bucket{target_group="blue",le="+Inf"}"#] {
                    failures.append("_count \(count) differs from the +Inf bucket")
                }
                previous = values
            } while writersDone.withLock({ $0 }) < Self.writers
            scrapeFailures.withLock { $0 = failures }
            finished.leave()
        }.start()
        for _ in 0..<Self.writers {
            finished.enter()
            Thread {
                // Registration happens on the writing thread, concurrently with the scrapes.
                let route = registry.routeCounters(listener: "production", group: "blue", target: "127.0.0.1:3000")
                let listener = registry.listenerCounters(listener: "production")
                for iteration in 0..<Self.iterations {
                    route.recordResponse(status: iteration % 2 == 0 ? 200 : 503,
                                         durationNanoseconds: iteration % 4 == 0 ? 2_000_000 : 1_000)
                    listener.connectionOpened()
                    listener.recordRetry()
                    listener.connectionClosed()
                }
                writersDone.withLock { $0 += 1 }
                finished.leave()
            }.start()
        }
        finished.wait()

        XCTAssertEqual(scrapeFailures.withLock { $0 }, [])
        let snapshot = registry.snapshot()
        let total = UInt64(Self.writers * Self.iterations)
        let route = MetricsSnapshot.RouteKey(listener: "production", group: "blue", target: "127.0.0.1:3000")
        XCTAssertEqual(snapshot.routes[route]?.responsesByClass, [0, total / 2, 0, 0, total / 2])
        XCTAssertEqual(snapshot.duration(group: "blue").bucketCounts, [total / 4 * 3, total / 4])
        XCTAssertEqual(snapshot.duration(group: "blue").sum, Double(total / 4 * 2_000_000 + total / 4 * 3 * 1_000) / 1e9)
        let listener = try XCTUnwrap(snapshot.listeners["production"])
        XCTAssertEqual(listener.retries, total)
        XCTAssertEqual(listener.connectionsOpened, total)
        XCTAssertEqual(listener.activeConnections, 0)
        XCTAssertTrue(registry.render().contains(
            "turnout_requests_total{listener=\"production\",target_group=\"blue\",target=\"127.0.0.1:3000\",code_class=\"5xx\"} 200000\n"))
    }

    /// Series name with labels → value, for the sample lines of an exposition.
    private static func sampleValues(_ exposition: String) -> [String: Double] {
        var values: [String: Double] = [:]
        for line in exposition.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                continue
            }
            values[String(line[..<space])] = value
        }
        return values
    }
}
