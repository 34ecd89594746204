@testable import TurnoutMetrics
import XCTest

final class EscapingTests: XCTestCase {
    private func rendered(_ family: MetricFamily) -> String {
        var out = ""
        family.render(into: &out)
        return out
    }

    func testLabelValuesEscapeBackslashQuoteAndLineFeed() {
        let family = MetricFamily.gauge("g", help: "h", samples: [
            MetricSample(labels: [("path", #"C:\dir "quoted""# + "\nnext")], value: 1),
        ])
        XCTAssertEqual(rendered(family), #"""
            # HELP g h
            # TYPE g gauge
            g{path="C:\\dir \"quoted\"\nnext"} 1

            """#)
    }

    func testCarriageReturnLineFeedInLabelValueStillEscapesTheLineFeed() {
        XCTAssertEqual(escapedLabelValue("a\r\nb"), "a\r\\nb")
    }

    func testHelpEscapesBackslashAndLineFeedButNotQuotes() {
        let family = MetricFamily.counter("c_total", help: #"a \ "b""# + "\nc", samples: [])
        XCTAssertEqual(rendered(family), #"""
            # HELP c_total a \\ "b"\nc
            # TYPE c_total counter

            """#)
    }

    func testPlainValuesAreUnchanged() {
        XCTAssertEqual(escapedLabelValue("127.0.0.1:3000"), "127.0.0.1:3000")
        XCTAssertEqual(escapedHelp("Plain help."), "Plain help.")
    }

    func testValueFormatting() {
        XCTAssertEqual(formattedValue(0), "0")
        XCTAssertEqual(formattedValue(-0.0), "0")
        XCTAssertEqual(formattedValue(3), "3")
        XCTAssertEqual(formattedValue(-3), "-3")
        XCTAssertEqual(formattedValue(0.001), "0.001")
        XCTAssertEqual(formattedValue(2.5), "2.5")
        XCTAssertEqual(formattedValue(0.00001), "1e-05")
        XCTAssertEqual(formattedValue(1e20), "1e+20")
        XCTAssertEqual(formattedValue(.infinity), "+Inf")
        XCTAssertEqual(formattedValue(-.infinity), "-Inf")
        XCTAssertEqual(formattedValue(.nan), "NaN")
    }

    func testSamplesSortByLabelValuesInLabelOrder() {
        let family = MetricFamily.gauge("w", help: "h", samples: [
            MetricSample(labels: [("listener", "test"), ("target_group", "blue")], value: 1),
            MetricSample(labels: [("listener", "production"), ("target_group", "green")], value: 2),
            MetricSample(labels: [("listener", "production"), ("target_group", "blue")], value: 3),
        ])
        XCTAssertEqual(rendered(family), """
            # HELP w h
            # TYPE w gauge
            w{listener="production",target_group="blue"} 3
            w{listener="production",target_group="green"} 2
            w{listener="test",target_group="blue"} 1

            """)
    }
}
