import TurnoutMetrics
import XCTest
@testable import TurnoutControl

/// The fleet's other instances' figures as the runner of a deployment sums them: seconds that overlap from one
/// publication to the next counted once, a window of seconds up to now, an instance that left counting no more, and
/// a publication read back as written.
final class FleetFiguresTests: XCTestCase {
    private let buckets = [0.1, 1.0]

    private func counts(_ responses: UInt64, errors: UInt64, slow: UInt64 = 0) -> FigureCounts {
        FigureCounts(responses: responses, responses5xx: errors, proxyErrors: 0, connectErrors: 0,
                     latency: HistogramCounts(upperBounds: buckets, bucketCounts: [responses - slow, slow, 0],
                                              sum: Double(responses) * 0.01))
    }

    private func publication(_ seconds: [UInt64: FigureCounts], group: String = "green") -> FleetFigures.Publication {
        FleetFigures.Publication(seconds: seconds.mapValues { [group: $0] })
    }

    func testOverlappingPublicationsCountEachSecondOnceAndTheWindowEndsNow() {
        var figures = FleetFigures()
        figures.add(instance: "b", publication([100: counts(10, errors: 1), 101: counts(10, errors: 2)]))
        figures.add(instance: "b", publication([101: counts(10, errors: 2), 102: counts(20, errors: 5)]))
        figures.add(instance: "c", publication([102: counts(4, errors: 4)]))

        let window = figures.window(group: "green", seconds: 2, nowSecond: 102, durationBuckets: buckets)
        XCTAssertEqual(window.responses, 10 + 10 + 20 + 4)
        XCTAssertEqual(window.responses5xx, 1 + 2 + 5 + 4)
        XCTAssertEqual(window.latency.bucketCounts, [44, 0, 0])
        let lastSecond = figures.window(group: "green", seconds: 0, nowSecond: 102, durationBuckets: buckets)
        XCTAssertEqual(lastSecond.responses, 24)
        XCTAssertEqual(figures.window(group: "blue", seconds: 5, nowSecond: 102, durationBuckets: buckets).responses, 0)
    }

    func testAnInstanceThatLeftCountsNoMoreAndOldSecondsGo() {
        var figures = FleetFigures()
        figures.add(instance: "b", publication([100: counts(10, errors: 1)]))
        figures.add(instance: "c", publication([100: counts(3, errors: 0)]))
        figures.remove(instance: "b")
        XCTAssertEqual(figures.window(group: "green", seconds: 5, nowSecond: 101, durationBuckets: buckets).responses, 3)

        figures.add(instance: "c", publication([100 + FleetFigures.keptSeconds: counts(1, errors: 0)]))
        XCTAssertEqual(figures.seconds["c"]?.keys.sorted(), [100 + FleetFigures.keptSeconds])
    }

    func testAPublicationReadsBackAsWrittenAndOtherBucketsAreLeftOut() throws {
        let written = publication([100: counts(10, errors: 1, slow: 3), 101: counts(2, errors: 0)])
        let json = try JSONReader.parse(written.jsonValue.jsonBytes)
        XCTAssertEqual(FleetFigures.Publication(json: json, durationBuckets: buckets), written)

        let otherBuckets = FleetFigures.Publication(json: json, durationBuckets: [0.5])
        XCTAssertEqual(otherBuckets?.seconds[100], [:], "a histogram with other buckets does not add up")
        XCTAssertNil(FleetFigures.Publication(json: ["time": 1], durationBuckets: buckets))
    }
}
