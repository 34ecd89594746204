import TurnoutCore
import XCTest
@testable import TurnoutControl

/// One name's state machine (resolving, resolved, failed keeping the last addresses) and the schedule of every
/// group's lookups, driven step by step: no resolver, no clock.
final class NameResolutionTests: XCTestCase {
    private let app = HostPort.parse("app-blue:3000")!
    private let second: UInt64 = 1_000_000_000

    private func addresses(_ texts: String...) -> [HostPort] { texts.map { HostPort.parse($0)! } }

    // MARK: - One name

    func testTheFirstAnswerResolvesTheName() {
        var name = NameResolution()
        XCTAssertEqual(name.phase, .resolving)
        XCTAssertEqual(name.record(.addresses(addresses("10.0.0.2:3000", "10.0.0.1:3000", "10.0.0.2:3000")),
                                   wallMilliseconds: 1000), .resolving)
        XCTAssertEqual(name.phase, .resolved)
        XCTAssertEqual(name.addresses, addresses("10.0.0.1:3000", "10.0.0.2:3000"), "sorted, each once")
        XCTAssertEqual(name.resolvedAt, 1000)
        XCTAssertNil(name.error)
    }

    func testAnotherAnswerWithAddressesIsNoChangeOfPhaseButNewAddresses() {
        var name = NameResolution()
        name.record(.addresses(addresses("10.0.0.1:3000")), wallMilliseconds: 1000)
        XCTAssertNil(name.record(.addresses(addresses("10.0.0.3:3000")), wallMilliseconds: 6000))
        XCTAssertEqual(name.addresses, addresses("10.0.0.3:3000"))
        XCTAssertEqual(name.resolvedAt, 6000)
    }

    func testAFailedLookupKeepsTheLastAddressesUntilOneSucceedsAgain() {
        var name = NameResolution()
        name.record(.addresses(addresses("10.0.0.1:3000")), wallMilliseconds: 1000)
        XCTAssertEqual(name.record(.failed("name or service not known"), wallMilliseconds: 6000), .resolved)
        XCTAssertEqual(name.phase, .failed)
        XCTAssertEqual(name.addresses, addresses("10.0.0.1:3000"), "kept")
        XCTAssertEqual(name.resolvedAt, 1000, "still the time of the last answer that found them")
        XCTAssertEqual(name.error, "name or service not known")

        XCTAssertNil(name.record(.failed("temporary failure in name resolution"), wallMilliseconds: 11000),
                     "failing on: no change of phase, nothing more to log")
        XCTAssertEqual(name.error, "temporary failure in name resolution")
        XCTAssertEqual(name.addresses, addresses("10.0.0.1:3000"))

        XCTAssertEqual(name.record(.addresses(addresses("10.0.0.4:3000")), wallMilliseconds: 16000), .failed)
        XCTAssertEqual(name.phase, .resolved)
        XCTAssertNil(name.error)
        XCTAssertEqual(name.addresses, addresses("10.0.0.4:3000"))
    }

    func testANameThatNeverResolvedFailsWithNoAddress() {
        var name = NameResolution()
        XCTAssertEqual(name.record(.failed("name or service not known"), wallMilliseconds: 1000), .resolving)
        XCTAssertEqual(name.phase, .failed)
        XCTAssertEqual(name.addresses, [])
        XCTAssertNil(name.resolvedAt)
    }

    // MARK: - The schedule

    private func groups(_ yaml: String) throws -> [GroupRoute] {
        RoutingTable(config: try ConfigLoader.parse(yaml: """
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
            target_groups:
            \(yaml)
            """), generation: 1).groups
    }

    func testANewNameIsLookedUpAtOnceThenEveryRefresh() throws {
        var state = NameRefreshState()
        state.update(groups: try groups("  blue: { targets: [app-blue:3000, 127.0.0.1:3001], dns_refresh: 2s }"), now: 10)
        XCTAssertEqual(state.nextDeadline, 10, "addresses are not looked up; the name is, at once")
        let first = state.dueLookups(now: 10)
        XCTAssertEqual(first.map(\.name), [app])
        XCTAssertEqual(state.nextDeadline, 10 + 2 * second)
        XCTAssertEqual(state.dueLookups(now: 10 + 2 * second - 1), [])
        XCTAssertEqual(state.dueLookups(now: 10 + 2 * second), [], "the first lookup still runs: this turn is skipped")

        let answered = state.record(.addresses(addresses("10.0.0.1:3000")), of: first[0], wallMilliseconds: 5)
        XCTAssertEqual(answered?.previousPhase, .resolving)
        XCTAssertEqual(state.resolution(group: "blue", name: app)?.phase, .resolved)
        XCTAssertEqual(state.dueLookups(now: 10 + 4 * second).map(\.name), [app])
        XCTAssertNil(state.record(.failed("late"), of: first[0], wallMilliseconds: 6), "an answer counts once")
    }

    func testAnAnswerForANameDeregisteredMeanwhileIsIgnored() throws {
        var state = NameRefreshState()
        state.update(groups: try groups("  blue: { targets: [app-blue:3000] }"), now: 0)
        let lookup = state.dueLookups(now: 0)[0]
        state.update(groups: try groups("  blue: { targets: [127.0.0.1:3001] }"), now: 1)
        XCTAssertNil(state.record(.addresses(addresses("10.0.0.1:3000")), of: lookup, wallMilliseconds: 1))
        XCTAssertNil(state.nextDeadline, "no name left to look up")

        state.update(groups: try groups("  blue: { targets: [app-blue:3000] }"), now: 2)
        XCTAssertNil(state.record(.addresses(addresses("10.0.0.1:3000")), of: lookup, wallMilliseconds: 2),
                     "registered again: the old lookup's answer is not this registration's")
        XCTAssertEqual(state.resolution(group: "blue", name: app)?.phase, .resolving)
        XCTAssertEqual(state.dueLookups(now: 2).map(\.name), [app], "a new lookup at once")
    }

    func testEachGroupLooksUpItsNamesOnItsOwnSchedule() throws {
        var state = NameRefreshState()
        state.update(groups: try groups("""
              blue: { targets: [app-blue:3000], dns_refresh: 2s }
              green: { targets: [app-blue:3000], dns_refresh: 10s }
            """), now: 0)
        let lookups = state.dueLookups(now: 0)
        XCTAssertEqual(lookups.map(\.group), ["blue", "green"])
        XCTAssertFalse(state.everyNameAnswered)
        _ = state.record(.failed("name or service not known"), of: lookups[0], wallMilliseconds: 1)
        XCTAssertFalse(state.everyNameAnswered)
        _ = state.record(.addresses(addresses("10.0.0.1:3000")), of: lookups[1], wallMilliseconds: 1)
        XCTAssertTrue(state.everyNameAnswered, "a failed answer is an answer")
        XCTAssertEqual(state.resolution(group: "blue", name: app)?.phase, .failed)
        XCTAssertEqual(state.resolution(group: "green", name: app)?.phase, .resolved)
        XCTAssertEqual(state.dueLookups(now: 2 * second).map(\.group), ["blue"])
    }

    func testAShorterRefreshBringsTheNextLookupForward() throws {
        var state = NameRefreshState()
        state.update(groups: try groups("  blue: { targets: [app-blue:3000], dns_refresh: 1m }"), now: 0)
        _ = state.dueLookups(now: 0)
        XCTAssertEqual(state.nextDeadline, 60 * second)
        state.update(groups: try groups("  blue: { targets: [app-blue:3000], dns_refresh: 5s }"), now: second)
        XCTAssertEqual(state.nextDeadline, 6 * second)
    }
}
