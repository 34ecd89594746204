import Glibc
import TurnoutCore
import XCTest
@testable import TurnoutControl

/// Targets registered by name on a manual clock, their lookups answered by hand: each answer that changes a
/// name's addresses is a committed routing change by `dns` (journal, generation, audit) that drains the
/// addresses that left and health-checks the new ones; a failed lookup keeps the last addresses.
final class ControlPlaneNamesTests: XCTestCase {
    private var harness: ControlPlaneHarness!
    private let app = HostPort.parse("app-blue:3000")!
    private let literal = "127.0.0.1:3001"
    private let second: UInt64 = 1_000_000_000

    private func yaml(_ directory: StateTestDirectory, check: String = "{ enabled: false }") -> String {
        ControlPlaneHarness.yaml(stateDir: directory.path, blueTargets: "[app-blue:3000, 127.0.0.1:3001]", check: check,
                                 blueExtra: "    dns_refresh: 2s")
    }

    override func setUpWithError() throws {
        let directory = StateTestDirectory()
        harness = try ControlPlaneHarness(yaml: yaml(directory), directory: directory)
    }

    override func tearDown() { harness.directory.remove() }

    private var blueTargets: [String] { ControlPlaneHarness.targets(harness.dataPlane.last!.table, "blue") }

    private func nameJSON(_ group: String = "blue", _ name: String = "app-blue:3000") -> JSONValue? {
        let groups = harness.send("GET", "/v1/status").json["target_groups"]?.arrayValue ?? []
        let entry = groups.first { $0["name"]?.stringValue == group }
        return entry?["names"]?.arrayValue?.first { $0["name"]?.stringValue == name }
    }

    /// Runs the lookups due now and answers the one of `app`.
    private func lookUp(_ answer: NameAnswer) {
        harness.clock.advance(by: 0)
        XCTAssertEqual(harness.resolver.answer(app, with: answer), 1, "one lookup of \(app) running")
    }

    private func addresses(_ texts: String...) -> NameAnswer { .addresses(texts.map { HostPort.parse($0)! }) }

    func testANameIsLookedUpAtStartAndItsAddressesAreACommittedChangeByDNS() throws {
        XCTAssertEqual(blueTargets, [literal], "no address for the name before its first answer")
        XCTAssertEqual(nameJSON()?["state"], "resolving")
        lookUp(addresses("10.0.0.7:3000", "10.0.0.6:3000"))

        XCTAssertEqual(blueTargets, ["10.0.0.6:3000", "10.0.0.7:3000", literal])
        XCTAssertEqual(harness.generation, 2)
        let entry = try XCTUnwrap(harness.auditEntries.last)
        XCTAssertEqual(entry["action"], "targets.resolve")
        XCTAssertEqual(entry["caller"], "dns")
        XCTAssertEqual(entry["request"], ["group": "blue", "name": "app-blue:3000", "addresses": ["10.0.0.6:3000", "10.0.0.7:3000"]])
        XCTAssertEqual(entry["diff"], ["target_groups": ["blue": ["before": [.string(literal)],
                                                                  "after": ["10.0.0.6:3000", "10.0.0.7:3000", .string(literal)]]]])
        let record = try XCTUnwrap(try harness.journalRecords().last)
        XCTAssertEqual(record.targetGroups["blue"], ["app-blue:3000", literal], "the journal keeps what was registered")
        XCTAssertEqual(record.resolvedNames, ["blue": ["app-blue:3000": ["10.0.0.6:3000", "10.0.0.7:3000"]]])

        XCTAssertEqual(nameJSON(), [
            "name": "app-blue:3000", "state": "resolved", "addresses": ["10.0.0.6:3000", "10.0.0.7:3000"],
            "resolved_at": "2026-11-26T14:00:00.000Z", "error": .null,
        ])
        XCTAssertEqual(harness.targets("blue")["10.0.0.6:3000"]?["name"], "app-blue:3000")
        XCTAssertEqual(harness.targets("blue")[literal]?["name"], .null)
        XCTAssertTrue(harness.log.all.contains { $0.message == "name app-blue:3000 in blue resolved: 10.0.0.6:3000, 10.0.0.7:3000" })
        let metrics = harness.plane.renderMetrics()
        XCTAssertTrue(metrics.contains(#"turnout_target_name_resolved{target_group="blue",name="app-blue:3000"} 1"#), metrics)
        XCTAssertTrue(metrics.contains(#"turnout_target_name_addresses{target_group="blue",name="app-blue:3000"} 2"#), metrics)
        XCTAssertTrue(metrics.contains(
            #"turnout_target_health{target_group="blue",target="10.0.0.6:3000",name="app-blue:3000",state="initial"} 1"#), metrics)
    }

    func testTheWaitForTheFirstAnswersEndsOnceTheirAddressesArePublished() throws {
        var published: [String]?
        harness.plane.whenEveryNameAnswered(within: 5 * second) { published = self.blueTargets }
        XCTAssertNil(published, "the name has no answer yet")
        lookUp(addresses("10.0.0.6:3000"))
        XCTAssertEqual(published, ["10.0.0.6:3000", literal], "serve starts its workers on a table that has them")
    }

    func testTheWaitForTheFirstAnswersEndsAfterItsBoundWhenANameHangs() throws {
        var ended = false
        harness.plane.whenEveryNameAnswered(within: 5 * second) { ended = true }
        harness.clock.advance(by: 5 * second - 1)
        XCTAssertFalse(ended)
        harness.clock.advance(by: 1)
        XCTAssertTrue(ended)
        XCTAssertEqual(harness.resolver.running, [app], "its lookup goes on")
    }

    func testTheSameAddressesAgainInAnyOrderChangeNothing() throws {
        lookUp(addresses("10.0.0.6:3000", "10.0.0.7:3000"))
        harness.clock.advance(by: 2 * second)
        XCTAssertEqual(harness.resolver.answer(app, with: addresses("10.0.0.7:3000", "10.0.0.6:3000")), 1)
        XCTAssertEqual(harness.generation, 2)
        XCTAssertEqual(try harness.journalRecords().count, 1)
    }

    func testANameThatMovesDrainsItsOldAddressAndItsNewOneIsCheckedFirst() throws {
        let directory = harness.directory
        harness = try ControlPlaneHarness(yaml: yaml(directory, check: "{ interval: 5s, timeout: 1s }"), directory: directory)
        lookUp(addresses("10.0.0.6:3000"))
        // Each round is 5.5 s: a probe comes every 5 s give or take 10 %, the first within the first 5 s.
        let round = 5_500 * second / 1_000
        harness.clock.advance(by: round)
        harness.prober.answer(HostPort.parse("10.0.0.6:3000")!, with: .passed(status: 200))
        harness.prober.answer(HostPort.parse(literal)!, with: .passed(status: 200))
        harness.clock.advance(by: round)
        harness.prober.answer(HostPort.parse("10.0.0.6:3000")!, with: .passed(status: 200))
        harness.prober.answer(HostPort.parse(literal)!, with: .passed(status: 200))
        XCTAssertEqual(harness.states("blue"), ["10.0.0.6:3000": "healthy", literal: "healthy"])

        harness.clock.advance(by: 0)
        let movedAt = harness.clock.wallMilliseconds
        XCTAssertEqual(harness.resolver.answer(app, addresses: ["10.0.0.9:3000"]), 1)
        XCTAssertEqual(harness.generation, 3)
        XCTAssertEqual(blueTargets, ["10.0.0.9:3000", literal])
        XCTAssertEqual(harness.states("blue"), ["10.0.0.9:3000": "initial", literal: "healthy", "10.0.0.6:3000": "draining"])
        XCTAssertEqual(harness.dataPlane.last?.routable?[0], [false, true], "the new address gets traffic once healthy")
        XCTAssertEqual(try harness.journalRecords().last?.draining,
                       [PersistedDrain(group: "blue", target: "10.0.0.6:3000", until: movedAt + 30_000)])

        harness.clock.advance(by: round)
        harness.prober.answer(HostPort.parse("10.0.0.9:3000")!, with: .passed(status: 200))
        harness.clock.advance(by: round)
        XCTAssertEqual(harness.prober.answer(HostPort.parse("10.0.0.9:3000")!, with: .passed(status: 200)), 1)
        XCTAssertEqual(harness.states("blue")["10.0.0.9:3000"], "healthy")
        XCTAssertEqual(harness.dataPlane.last?.routable?[0], [true, true])

        harness.clock.advance(by: 19 * second)
        XCTAssertNil(harness.states("blue")["10.0.0.6:3000"], "drained at the deregistration delay")
    }

    func testAFailedLookupKeepsTheLastAddressesAndIsLoggedOncePerChange() throws {
        lookUp(addresses("10.0.0.6:3000"))
        for _ in 0..<3 {
            harness.clock.advance(by: 2 * second)
            XCTAssertEqual(harness.resolver.answer(app, with: .failed("name or service not known")), 1)
        }
        XCTAssertEqual(blueTargets, ["10.0.0.6:3000", literal], "still served")
        XCTAssertEqual(harness.generation, 2, "no routing change")
        XCTAssertEqual(nameJSON(), [
            "name": "app-blue:3000", "state": "failed", "addresses": ["10.0.0.6:3000"],
            "resolved_at": "2026-11-26T14:00:00.000Z", "error": "name or service not known",
        ])
        let warnings = harness.log.all.filter { $0.message.hasPrefix("name app-blue:3000 in blue: lookup failed") }
        XCTAssertEqual(warnings.map(\.message),
                       ["name app-blue:3000 in blue: lookup failed (name or service not known); keeping its last addresses (10.0.0.6:3000)"])
        XCTAssertTrue(harness.plane.renderMetrics().contains(#"turnout_target_name_resolved{target_group="blue",name="app-blue:3000"} 0"#))

        harness.clock.advance(by: 2 * second)
        harness.resolver.answer(app, addresses: ["10.0.0.6:3000"])
        XCTAssertEqual(nameJSON()?["state"], "resolved")
        XCTAssertEqual(nameJSON()?["resolved_at"], "2026-11-26T14:00:08.000Z")
        XCTAssertEqual(harness.log.all.filter { $0.message == "name app-blue:3000 in blue resolves again: 10.0.0.6:3000" }.count, 1)
        XCTAssertEqual(harness.generation, 2)
    }

    func testANameThatDoesNotResolveAtStartWaitsWithoutAnAddress() throws {
        lookUp(.failed("name or service not known"))
        XCTAssertEqual(blueTargets, [literal])
        XCTAssertEqual(nameJSON()?["state"], "failed")
        XCTAssertEqual(nameJSON()?["addresses"], [])
        XCTAssertTrue(harness.log.all.contains {
            $0.message == "name app-blue:3000 in blue: lookup failed (name or service not known); it has no address yet and gets no traffic"
        })
        harness.clock.advance(by: 2 * second)
        harness.resolver.answer(app, addresses: ["10.0.0.6:3000"])
        XCTAssertEqual(blueTargets, ["10.0.0.6:3000", literal])
    }

    func testARestartServesTheLastAddressesAndLooksTheNameUpAgain() throws {
        lookUp(addresses("10.0.0.6:3000"))
        let restarted = try harness.restarted(yaml: yaml(harness.directory))
        harness = restarted
        XCTAssertEqual(blueTargets, ["10.0.0.6:3000", literal], "served at once from the saved addresses")
        XCTAssertEqual(nameJSON()?["state"], "resolving")
        lookUp(addresses("10.0.0.8:3000"))
        XCTAssertEqual(blueTargets, ["10.0.0.8:3000", literal])
        XCTAssertEqual(harness.states("blue")["10.0.0.6:3000"], "draining")
        XCTAssertEqual(harness.auditEntries.last?["caller"], "dns")
    }

    func testANameRegisteredThroughTheAPIIsLookedUpAtOnceAndDeregisteredWithAllItsAddresses() throws {
        let other = HostPort.parse("app-green:3002")!
        let registered = harness.send("POST", "/v1/target-groups/green/targets", #"{"targets": ["app-green:3002"]}"#)
        XCTAssertEqual(registered.status, 200)
        XCTAssertEqual(registered.json["names"], [["name": "app-green:3002", "state": "resolving", "addresses": [],
                                                   "resolved_at": .null, "error": .null]])
        harness.clock.advance(by: 0)
        XCTAssertEqual(harness.resolver.running, [app, other])
        harness.resolver.answer(other, addresses: ["10.0.1.1:3002", "10.0.1.2:3002"])
        XCTAssertEqual(ControlPlaneHarness.targets(harness.dataPlane.last!.table, "green"),
                       ["127.0.0.1:3002", "10.0.1.1:3002", "10.0.1.2:3002"], "in registration order")

        let address = harness.send("DELETE", "/v1/target-groups/green/targets/10.0.1.1:3002")
        XCTAssertEqual(address.status, 404)
        XCTAssertEqual(address.json["error"]?["message"], "10.0.1.1:3002 is an address of app-green:3002 in 'green'; deregister the name")

        XCTAssertEqual(harness.send("DELETE", "/v1/target-groups/green/targets/app-green:3002").status, 200)
        XCTAssertEqual(ControlPlaneHarness.targets(harness.dataPlane.last!.table, "green"), ["127.0.0.1:3002"])
        XCTAssertEqual(harness.states("green"), ["127.0.0.1:3002": "initial", "10.0.1.1:3002": "draining",
                                                 "10.0.1.2:3002": "draining"])
        XCTAssertEqual(try harness.journalRecords().last?.targetGroups["green"], ["127.0.0.1:3002"])
    }

    func testAnAnswerTheJournalCannotSaveChangesNothingAndTheNextLookupTriesAgain() throws {
        harness.files.inject(.fail(ENOSPC), into: .write)
        lookUp(addresses("10.0.0.6:3000"))
        XCTAssertEqual(blueTargets, [literal])
        XCTAssertEqual(harness.generation, 1)
        harness.files.heal()
        harness.clock.advance(by: 2 * second)
        harness.resolver.answer(app, addresses: ["10.0.0.6:3000"])
        XCTAssertEqual(blueTargets, ["10.0.0.6:3000", literal])
        XCTAssertEqual(harness.generation, 2)
    }
}
