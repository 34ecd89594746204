import TurnoutCore
import XCTest

final class ConfigDurationTests: XCTestCase {
    func testParsesEachUnit() {
        XCTAssertEqual(ConfigDuration.parse("5s")?.nanoseconds, 5_000_000_000)
        XCTAssertEqual(ConfigDuration.parse("250ms")?.nanoseconds, 250_000_000)
        XCTAssertEqual(ConfigDuration.parse("2m")?.nanoseconds, 120_000_000_000)
        XCTAssertEqual(ConfigDuration.parse("1h")?.nanoseconds, 3_600_000_000_000)
        XCTAssertEqual(ConfigDuration.parse("100us")?.nanoseconds, 100_000)
        XCTAssertEqual(ConfigDuration.parse("100µs")?.nanoseconds, 100_000)
        XCTAssertEqual(ConfigDuration.parse("7ns")?.nanoseconds, 7)
        XCTAssertEqual(ConfigDuration.parse("0s")?.nanoseconds, 0)
    }

    func testParsesFractionsExactly() {
        XCTAssertEqual(ConfigDuration.parse("1.5s")?.nanoseconds, 1_500_000_000)
        XCTAssertEqual(ConfigDuration.parse("0.1s")?.nanoseconds, 100_000_000)
        XCTAssertEqual(ConfigDuration.parse("2.25m")?.nanoseconds, 135_000_000_000)
        XCTAssertEqual(ConfigDuration.parse("1.0000000019s")?.nanoseconds, 1_000_000_001)
    }

    func testParsesCompoundDurations() {
        XCTAssertEqual(ConfigDuration.parse("1m30s")?.nanoseconds, 90_000_000_000)
        XCTAssertEqual(ConfigDuration.parse("1h2m3s4ms")?.nanoseconds, 3_723_004_000_000)
    }

    func testRefusesBareNumbersAndMalformedText() {
        for text in ["", "5", "1.5", "s", "5x", "5 s", " 5s", "5s ", "-5s", "+5s", ".5s", "5.s", "1e3ms", "5S", "5sec", "1m30"] {
            XCTAssertNil(ConfigDuration.parse(text), "'\(text)' should be refused")
        }
    }

    func testRefusesOverflow() {
        XCTAssertNil(ConfigDuration.parse("18446744074s"))
        XCTAssertNil(ConfigDuration.parse("99999999999999999999ns"))
        XCTAssertEqual(ConfigDuration.parse("18446744073709551615ns")?.nanoseconds, UInt64.max)
    }

    func testMillisecondsRoundDown() {
        XCTAssertEqual(ConfigDuration.parse("1500us")?.milliseconds, 1)
        XCTAssertEqual(ConfigDuration.parse("2s")?.milliseconds, 2000)
        XCTAssertEqual(ConfigDuration.parse("999us")?.milliseconds, 0)
    }

    func testDescriptionUsesLargestExactUnitAndRoundTrips() {
        XCTAssertEqual(ConfigDuration.seconds(30).description, "30s")
        XCTAssertEqual(ConfigDuration.parse("1.5s")?.description, "1500ms")
        XCTAssertEqual(ConfigDuration.parse("120s")?.description, "2m")
        XCTAssertEqual(ConfigDuration.parse("100us")?.description, "100us")
        XCTAssertEqual(ConfigDuration(nanoseconds: 0).description, "0s")
        for text in ["5s", "250ms", "1h", "7ns", "1m30s", "1.5s"] {
            let duration = ConfigDuration.parse(text)!
            XCTAssertEqual(ConfigDuration.parse(duration.description), duration, text)
        }
    }
}
