import TurnoutCore
import XCTest

/// Targets registered by name: a name stands for every address it resolved to, each its own target; a change of
/// those addresses is a new table whose departing addresses `targetsLeaving` lists. Pure: no lookup here.
final class TargetNamesTests: XCTestCase {
    private let app = HostPort.parse("app-blue:3000")!
    private let other = HostPort.parse("app-other:3000")!

    private func table() throws -> RoutingTable {
        let config = try ConfigLoader.parse(yaml: """
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
            target_groups:
              blue: { targets: [app-blue:3000, 127.0.0.1:3001, app-other:3000], dns_refresh: 2s }
              green: { targets: [app-blue:3000] }
            """)
        return RoutingTable(config: config, generation: 1)
    }

    private func targets(_ table: RoutingTable, _ group: String) -> [String] {
        table.groups[table.groupIndex(named: group)!].targets.map(\.description)
    }

    private func origins(_ table: RoutingTable, _ group: String) -> [String] {
        table.groups[table.groupIndex(named: group)!].origins.map(\.description)
    }

    private func addresses(_ texts: String...) -> [HostPort] { texts.map { HostPort.parse($0)! } }

    func testANameWithoutAddressesHasNoTargetAndAnAddressIsItsOwnTarget() throws {
        let table = try table()
        let blue = table.groups[0]
        XCTAssertEqual(blue.registered.map(\.description), ["app-blue:3000", "127.0.0.1:3001", "app-other:3000"])
        XCTAssertEqual(blue.names, [app, other])
        XCTAssertEqual(targets(table, "blue"), ["127.0.0.1:3001"])
        XCTAssertEqual(origins(table, "blue"), ["127.0.0.1:3001"])
        XCTAssertEqual(blue.dnsRefresh, .seconds(2))
        XCTAssertEqual(table.groups[1].dnsRefresh, .seconds(5), "the default")
    }

    func testEveryAddressOfANameIsATargetInRegistrationOrderRememberingTheName() throws {
        let next = try table().replacingAddresses(addresses("10.0.0.9:3000", "10.0.0.10:3000", "[fd00::5]:3000"),
                                                  of: app, in: "blue")
        XCTAssertEqual(next.generation, 2)
        XCTAssertEqual(targets(next, "blue"), ["10.0.0.10:3000", "10.0.0.9:3000", "[fd00::5]:3000", "127.0.0.1:3001"],
                       "the name's addresses where the name is registered, IPv4 first")
        XCTAssertEqual(origins(next, "blue"), ["app-blue:3000", "app-blue:3000", "app-blue:3000", "127.0.0.1:3001"])
        XCTAssertEqual(targets(next, "green"), [], "each group's registration of a name resolves on its own")
    }

    func testAnAddressTwoRegistrationsYieldIsOneTargetKeptByTheFirst() throws {
        let next = try table()
            .replacingAddresses(addresses("127.0.0.1:3001", "10.0.0.1:3000"), of: app, in: "blue")
            .replacingAddresses(addresses("10.0.0.1:3000"), of: other, in: "blue")
        XCTAssertEqual(targets(next, "blue"), ["10.0.0.1:3000", "127.0.0.1:3001"])
        XCTAssertEqual(origins(next, "blue"), ["app-blue:3000", "app-blue:3000"])
    }

    func testTheSameAddressesInAnotherOrderRouteAlike() throws {
        let first = try table().replacingAddresses(addresses("10.0.0.1:3000", "10.0.0.2:3000"), of: app, in: "blue")
        let rotated = try first.replacingAddresses(addresses("10.0.0.2:3000", "10.0.0.1:3000", "10.0.0.2:3000"),
                                                   of: app, in: "blue")
        XCTAssertTrue(rotated.routesLike(first), "a DNS server rotating its answers changes nothing")
        XCTAssertFalse(try first.replacingAddresses(addresses("10.0.0.1:3000"), of: app, in: "blue").routesLike(first))
    }

    func testAMovedNameLeavesItsOldAddressAndKeepsTheOthers() throws {
        let before = try table().replacingAddresses(addresses("10.0.0.1:3000", "10.0.0.2:3000"), of: app, in: "blue")
        let moved = try before.replacingAddresses(addresses("10.0.0.2:3000", "10.0.0.3:3000"), of: app, in: "blue")
        XCTAssertEqual(before.targetsLeaving(to: moved), ["blue": addresses("10.0.0.1:3000")])
        XCTAssertEqual(targets(moved, "blue"), ["10.0.0.2:3000", "10.0.0.3:3000", "127.0.0.1:3001"])
        XCTAssertEqual(moved.targetsLeaving(to: before), ["blue": addresses("10.0.0.3:3000")])
        XCTAssertEqual(before.targetsLeaving(to: before), [:])
    }

    func testDeregisteringANameLeavesAllItsAddressesAndForgetsThem() throws {
        let before = try table().replacingAddresses(addresses("10.0.0.1:3000", "10.0.0.2:3000"), of: app, in: "blue")
        let after = try before.replacingTargets(["blue": addresses("127.0.0.1:3001", "app-other:3000")])
        XCTAssertEqual(before.targetsLeaving(to: after), ["blue": addresses("10.0.0.1:3000", "10.0.0.2:3000")])
        XCTAssertNil(after.groups[0].resolved[app])
        let again = try after.replacingTargets(["blue": addresses("app-blue:3000")])
        XCTAssertEqual(targets(again, "blue"), [], "registered again: it waits for a new lookup")
    }

    func testAKeptNameKeepsItsAddressesThroughTargetAndSettingChanges() throws {
        let resolved = try table().replacingAddresses(addresses("10.0.0.1:3000"), of: app, in: "blue")
        let fewer = try resolved.replacingTargets(["blue": addresses("app-blue:3000")])
        XCTAssertEqual(targets(fewer, "blue"), ["10.0.0.1:3000"])
        var settings = TargetGroupConfig(name: "blue", dnsRefresh: .seconds(30))
        settings.algorithm = .leastOutstandingRequests
        let tuned = try fewer.replacingGroupSettings(["blue": settings], timeouts: Timeouts())
        XCTAssertEqual(targets(tuned, "blue"), ["10.0.0.1:3000"])
        XCTAssertEqual(tuned.groups[0].dnsRefresh, .seconds(30))
    }

    func testRestoredAddressesComeWithTheirNames() throws {
        let restored = try table().replacingTargets(
            ["blue": addresses("app-blue:3000")],
            resolved: ["blue": [app: addresses("10.0.0.7:3000"), other: addresses("10.0.0.8:3000")]], generation: 9)
        XCTAssertEqual(restored.generation, 9)
        XCTAssertEqual(targets(restored, "blue"), ["10.0.0.7:3000"])
        XCTAssertEqual(restored.groups[0].resolved, [app: addresses("10.0.0.7:3000")], "only registered names are kept")
    }

    func testReplacingAddressesRefusesWhatIsNotARegisteredNameOrNotAnAddress() throws {
        let table = try table()
        XCTAssertThrowsError(try table.replacingAddresses(addresses("10.0.0.1:3000"), of: HostPort.parse("app-x:3000")!,
                                                          in: "blue")) { error in
            XCTAssertEqual((error as? ConfigError)?.key, "target_groups.blue.targets")
        }
        XCTAssertThrowsError(try table.replacingAddresses([app], of: app, in: "blue"))
        XCTAssertThrowsError(try table.replacingAddresses([], of: app, in: "purple")) { error in
            XCTAssertEqual((error as? ConfigError)?.key, "target_groups.purple")
        }
    }

    func testDNSRefreshIsValidatedAndNamedInErrors() {
        for (value, message) in [("500ms", "expected 1s...1h, got 500ms"), ("2h", "expected 1s...1h, got 2h")] {
            assertConfigError("""
                listeners:
                  production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
                target_groups:
                  blue: { targets: [app-blue:3000], dns_refresh: \(value) }
                """, key: "target_groups.blue.dns_refresh", line: 4, message: message)
        }
        assertConfigError("""
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
            target_groups:
              blue: { targets: [app-blue:3000], dns_refresh: often }
            """, key: "target_groups.blue.dns_refresh", line: 4, message: "often")
    }

    func testAReloadNamesAChangedDNSRefresh() throws {
        let before = try ConfigLoader.parse(yaml: minimalConfigYAML)
        var after = before
        after.targetGroups[0].dnsRefresh = .seconds(10)
        let changes = ConfigChanges(from: before, to: after)
        XCTAssertEqual(changes.appliedKeys, ["target_groups.blue.dns_refresh"])
        XCTAssertEqual(changes.groupSettings["blue"]?.dnsRefresh, .seconds(10))
        XCTAssertTrue(changes.needRestart.isEmpty)
    }

    func testAddressOrHostName() {
        XCTAssertTrue(HostPort.parse("127.0.0.1:1")!.isAddress)
        XCTAssertTrue(HostPort.parse("[::1]:1")!.isAddress)
        XCTAssertFalse(HostPort.parse("localhost:1")!.isAddress)
        XCTAssertFalse(HostPort.parse("app-green:3000")!.isAddress)
    }
}
