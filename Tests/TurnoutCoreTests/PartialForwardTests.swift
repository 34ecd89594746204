import TurnoutCore
import XCTest

/// `turnout weights production green=10`: weights that add up to less than 100, completed with the one group
/// left out that has traffic now, or refused with a complete example.
final class PartialForwardTests: XCTestCase {
    private let groups = ["blue", "green", "canary"]

    private func forward(_ text: String) -> [WeightedGroup] {
        text.split(separator: " ").map { entry in
            let parts = entry.split(separator: "=")
            return WeightedGroup(group: String(parts[0]), weight: Int(parts[1])!)
        }
    }

    private func complete(_ given: String, on current: String) -> PartialForward.Completion {
        PartialForward(forward(given)).completed(current: forward(current), groups: groups)
    }

    func testTheRestGoesToTheOneOtherGroupWithTraffic() {
        XCTAssertEqual(complete("green=10", on: "blue=100"), .completed(forward("green=10 blue=90")))
        XCTAssertEqual(complete("green=10", on: "blue=100 green=0"), .completed(forward("green=10 blue=90")))
        XCTAssertEqual(complete("green=30", on: "blue=90 green=10"), .completed(forward("green=30 blue=70")))
        XCTAssertEqual(complete("blue=10", on: "green=100"), .completed(forward("blue=10 green=90")))
        XCTAssertEqual(complete("green=0", on: "blue=90 green=10"), .completed(forward("green=0 blue=100")))
        XCTAssertEqual(complete("green=20 canary=5", on: "blue=100"),
                       .completed(forward("green=20 canary=5 blue=75")))
    }

    func testWeightsThatAddUpTo100OrMoreGoAsGiven() {
        XCTAssertEqual(complete("blue=90 green=10", on: "blue=80 canary=20"), .asGiven)
        XCTAssertEqual(complete("green=100", on: "blue=100"), .asGiven)
        XCTAssertEqual(complete("blue=90 green=20", on: "blue=100"), .asGiven, "the admin API refuses them")
        XCTAssertFalse(PartialForward(forward("blue=60 green=40")).isPartial)
        XCTAssertTrue(PartialForward(forward("blue=60")).isPartial)
        XCTAssertEqual(PartialForward(forward("blue=60")).rest, 40)
        XCTAssertEqual(complete("blue=9223372036854775807 green=9223372036854775807", on: "blue=100"), .asGiven,
                       "no overflow: the admin API refuses them")
    }

    func testNoOtherGroupWithTrafficIsRefusedWithAnExample() {
        XCTAssertEqual(complete("blue=10", on: "blue=100"), .nowhereForTheRest(example: forward("blue=10 green=90")))
        XCTAssertEqual(complete("blue=0", on: "blue=100 green=0"), .nowhereForTheRest(example: forward("blue=0 green=100")))
        XCTAssertEqual(complete("blue=10 green=20", on: "blue=100"), .nowhereForTheRest(example: forward("blue=10 green=20 canary=70")))
        // Every group named: the example scales what was given.
        XCTAssertEqual(complete("blue=30 green=10 canary=10", on: "blue=100"),
                       .nowhereForTheRest(example: forward("blue=60 green=20 canary=20")))
        XCTAssertEqual(complete("blue=0 green=0 canary=0", on: "blue=100"), .asGiven, "nothing to suggest: the API refuses")
    }

    func testSeveralOtherGroupsWithTrafficAreRefusedWithAnExample() {
        XCTAssertEqual(complete("green=20", on: "blue=80 green=10 canary=10"),
                       .severalForTheRest(others: forward("blue=80 canary=10"), example: forward("green=20 blue=71 canary=9")))
        XCTAssertEqual(complete("canary=10", on: "blue=50 green=50"),
                       .severalForTheRest(others: forward("blue=50 green=50"), example: forward("canary=10 blue=45 green=45")))
    }
}
