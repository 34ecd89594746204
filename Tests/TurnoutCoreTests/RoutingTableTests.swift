import TurnoutCore
import XCTest

final class RoutingTableTests: XCTestCase {
    private func demoTable(generation: UInt64 = 1) throws -> RoutingTable {
        let config = try ConfigLoader.parse(yaml: """
            listeners:
              production: { bind: 0.0.0.0:8080, forward: { blue: 100, green: 0 } }
              test: { bind: 0.0.0.0:8081, forward: { green: 100 } }
            target_groups:
              blue: { targets: [127.0.0.1:3000, 127.0.0.1:3002], deregistration_delay: 5s }
              green: { targets: [127.0.0.1:3001], algorithm: least_outstanding_requests }
              spare: {}
            """)
        return RoutingTable(config: config, generation: generation)
    }

    private func weights(_ table: RoutingTable, _ listener: String) -> [WeightedGroup] {
        table.forward(ofListener: table.listenerIndex(named: listener)!)
    }

    func testBuildsFromConfigInOrder() throws {
        let table = try demoTable(generation: 7)
        XCTAssertEqual(table.generation, 7)
        XCTAssertEqual(table.listeners.map(\.name), ["production", "test"])
        XCTAssertEqual(table.groups.map(\.name), ["blue", "green", "spare"])

        XCTAssertEqual(table.listeners[0].bind, HostPort(host: "0.0.0.0", port: 8080))
        XCTAssertEqual(table.listeners[0].groupIndices, [0, 1])
        XCTAssertEqual(table.listeners[0].weights, [100, 0])
        XCTAssertEqual(table.listeners[1].groupIndices, [1])
        XCTAssertEqual(table.listeners[1].weights, [100])

        XCTAssertEqual(table.groups[0].targets.map(\.description), ["127.0.0.1:3000", "127.0.0.1:3002"])
        XCTAssertEqual(table.groups[0].algorithm, .roundRobin)
        XCTAssertEqual(table.groups[0].deregistrationDelay, .seconds(5))
        XCTAssertEqual(table.groups[1].algorithm, .leastOutstandingRequests)
        XCTAssertEqual(table.groups[2].targets, [])
    }

    func testLooksUpByName() throws {
        let table = try demoTable()
        XCTAssertEqual(table.listenerIndex(named: "test"), 1)
        XCTAssertNil(table.listenerIndex(named: "staging"))
        XCTAssertEqual(table.groupIndex(named: "spare"), 2)
        XCTAssertNil(table.groupIndex(named: "purple"))
        XCTAssertEqual(weights(table, "production"), [WeightedGroup(group: "blue", weight: 100), WeightedGroup(group: "green", weight: 0)])
    }

    func testReplacingForwardMakesANewGenerationAndLeavesTheOldTableAlone() throws {
        let table = try demoTable(generation: 3)
        let canary = try table.replacingForward(["production": [
            WeightedGroup(group: "blue", weight: 90), WeightedGroup(group: "green", weight: 10),
        ]])
        XCTAssertEqual(canary.generation, 4)
        XCTAssertEqual(canary.listeners[0].groupIndices, [0, 1])
        XCTAssertEqual(canary.listeners[0].weights, [90, 10])
        XCTAssertEqual(canary.listeners[1], table.listeners[1])
        XCTAssertEqual(canary.groups, table.groups)

        XCTAssertEqual(table.generation, 3)
        XCTAssertEqual(table.listeners[0].weights, [100, 0])
    }

    func testReplacingForwardSwapsSeveralListenersInOneGeneration() throws {
        let table = try demoTable(generation: 10)
        let swapped = try table.replacingForward([
            "production": [WeightedGroup(group: "green", weight: 100)],
            "test": [WeightedGroup(group: "blue", weight: 100)],
        ])
        XCTAssertEqual(swapped.generation, 11)
        XCTAssertEqual(weights(swapped, "production"), [WeightedGroup(group: "green", weight: 100)])
        XCTAssertEqual(weights(swapped, "test"), [WeightedGroup(group: "blue", weight: 100)])
        XCTAssertEqual(swapped.listeners[0].groupIndices, [1])
        XCTAssertEqual(swapped.listeners[1].groupIndices, [0])
    }

    func testReplacingForwardCanSetTheGeneration() throws {
        let restored = try demoTable(generation: 0).replacingForward(
            ["production": [WeightedGroup(group: "green", weight: 100)]], generation: 42
        )
        XCTAssertEqual(restored.generation, 42)
    }

    func testReplacingForwardRefusesBadChanges() throws {
        let table = try demoTable()
        let cases: [(changes: [String: [WeightedGroup]], error: ConfigError)] = [
            (["staging": [WeightedGroup(group: "blue", weight: 100)]],
             ConfigError(key: "listeners.staging", message: "unknown listener 'staging'")),
            (["production": [WeightedGroup(group: "purple", weight: 100)]],
             ConfigError(key: "listeners.production.forward.purple", message: "unknown target group 'purple'")),
            (["production": [WeightedGroup(group: "blue", weight: 101)]],
             ConfigError(key: "listeners.production.forward.blue", message: "weight must be a percentage 0...100, got 101")),
            (["production": [WeightedGroup(group: "blue", weight: -1)]],
             ConfigError(key: "listeners.production.forward.blue", message: "weight must be a percentage 0...100, got -1")),
            (["test": [WeightedGroup(group: "blue", weight: 0), WeightedGroup(group: "green", weight: 0)]],
             ConfigError(key: "listeners.test.forward", message: "weights are percentages and must add up to 100, not 0")),
            (["production": [WeightedGroup(group: "blue", weight: 90), WeightedGroup(group: "green", weight: 20)]],
             ConfigError(key: "listeners.production.forward", message: "weights are percentages and must add up to 100, not 110 (in proportion, these would send 81.8 % to blue and 18.2 % to green)")),
            (["production": [WeightedGroup(group: "green", weight: 10)]],
             ConfigError(key: "listeners.production.forward", message: "weights are percentages and must add up to 100, not 10 (in proportion, these would send 100 % to green)")),
            (["test": []],
             ConfigError(key: "listeners.test.forward", message: "expected at least one target group, e.g. { blue: 100 }")),
            (["test": [WeightedGroup(group: "blue", weight: 50), WeightedGroup(group: "blue", weight: 50)]],
             ConfigError(key: "listeners.test.forward.blue", message: "target group 'blue' is listed more than once")),
        ]
        for (changes, expected) in cases {
            XCTAssertThrowsError(try table.replacingForward(changes)) { error in
                XCTAssertEqual(error as? ConfigError, expected)
            }
        }
    }

    func testReplacingForwardWithOneBadListenerChangesNothing() throws {
        let table = try demoTable()
        XCTAssertThrowsError(try table.replacingForward([
            "production": [WeightedGroup(group: "green", weight: 100)],
            "test": [WeightedGroup(group: "nope", weight: 100)],
        ]))
        XCTAssertEqual(weights(table, "production"), [WeightedGroup(group: "blue", weight: 100), WeightedGroup(group: "green", weight: 0)])
        XCTAssertEqual(table.generation, 1)
    }

    func testReplacingTargets() throws {
        let table = try demoTable(generation: 5)
        let changed = try table.replacingTargets(["spare": [HostPort(host: "10.0.0.9", port: 80)]])
        XCTAssertEqual(changed.generation, 6)
        XCTAssertEqual(changed.groups[2].targets, [HostPort(host: "10.0.0.9", port: 80)])
        XCTAssertEqual(changed.groups[0], table.groups[0])
        XCTAssertEqual(changed.listeners, table.listeners)

        XCTAssertThrowsError(try table.replacingTargets(["purple": []])) { error in
            XCTAssertEqual(error as? ConfigError, ConfigError(key: "target_groups.purple", message: "unknown target group 'purple'"))
        }
        let target = HostPort(host: "10.0.0.9", port: 80)
        XCTAssertThrowsError(try table.replacingTargets(["blue": [target, target]])) { error in
            XCTAssertEqual((error as? ConfigError)?.key, "target_groups.blue.targets[1]")
        }
    }

    func testSnapshotIsReadableFromManyThreads() throws {
        let table = try demoTable()
        let totals = Totals()
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            var picker = SmoothWeightedPicker(weights: table.listeners[0].weights)
            var blue = 0
            for _ in 0..<1000 where picker.next() == 0 { blue += 1 }
            totals.add(blue)
        }
        XCTAssertEqual(totals.value, 8000)
    }
}

/// A counter the concurrent test threads add to.
private final class Totals: @unchecked Sendable {
    private let lock = NSLock()
    private var total = 0

    func add(_ amount: Int) {
        lock.lock()
        total += amount
        lock.unlock()
    }

    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return total
    }
}

/// Where a table differs from the configuration file, and the table with the file's values put back.
final class RoutingTableConfigDifferencesTests: XCTestCase {
    private let config = try! ConfigLoader.parse(yaml: """
        listeners:
          production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }
          test: { bind: 0.0.0.0:8081, forward: { green: 60, blue: 40 } }
        target_groups:
          blue: { targets: [127.0.0.1:3000] }
          green: { targets: [127.0.0.1:3001, 127.0.0.1:3002] }
        """)

    func testTheFileItselfDiffersInNothingWhateverOrderItsGroupsAreWrittenIn() throws {
        let table = RoutingTable(config: config, generation: 1)
        XCTAssertEqual(table.differences(from: config), [])
        let reordered = try table.replacingForward(["test": [WeightedGroup(group: "blue", weight: 40),
                                                             WeightedGroup(group: "green", weight: 60)]])
        XCTAssertEqual(reordered.differences(from: config), [])
    }

    func testForwardsAndTargetListsThatDifferAreListedWithBothValues() throws {
        let changed = try RoutingTable(config: config, generation: 1)
            .replacingForward(["production": [WeightedGroup(group: "blue", weight: 100),
                                              WeightedGroup(group: "green", weight: 0)]])
            .replacingTargets(["green": [HostPort.parse("127.0.0.1:3002")!]])
        let differences = changed.differences(from: config)
        XCTAssertEqual(differences.map(\.key), ["listeners.production.forward", "target_groups.green.targets"])
        XCTAssertEqual(differences.map(\.description), [
            "listeners.production.forward is blue=100 green=0 (the file: blue=100)",
            "target_groups.green.targets is [127.0.0.1:3002] (the file: [127.0.0.1:3001, 127.0.0.1:3002])",
        ])

        let reset = try changed.withForwardsAndTargets(of: config, generation: 9)
        XCTAssertEqual(reset.generation, 9)
        XCTAssertEqual(reset.differences(from: config), [])
        XCTAssertTrue(reset.routesLike(RoutingTable(config: config, generation: 1)))
    }
}
