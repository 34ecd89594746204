import TurnoutControl
import TurnoutCore
import XCTest

/// The active health checker against real loopback sockets, thresholds 2. Probes get a timeout with room
/// (`fastCheck()`), so that a slow machine does not turn a passing or refused probe into a timeout; only the
/// test of the timeout itself has a short one.
final class HealthCheckerTests: XCTestCase {
    private var servers: [LoopbackHTTPServer] = []
    private var harnesses: [HealthCheckerHarness] = []

    override func tearDown() {
        for harness in harnesses { harness.stop() }
        for server in servers { server.stop() }
        // XCTest keeps every test case object until the process exits: let go of the checkers and loops now.
        harnesses.removeAll()
        servers.removeAll()
        super.tearDown()
    }

    private func server(_ behavior: LoopbackHTTPServer.Behavior) throws -> LoopbackHTTPServer {
        let server = try LoopbackHTTPServer(behavior)
        servers.append(server)
        return server
    }

    private func harness(_ groups: [TargetGroupConfig], unusedGroups: Set<String> = []) throws -> HealthCheckerHarness {
        let harness = try HealthCheckerHarness(groups: routingTable(groups).groups, unusedGroups: unusedGroups)
        harnesses.append(harness)
        return harness
    }

    private func group(_ name: String, _ targets: [HostPort], check: HealthCheckConfig = fastCheck(),
                       ejection: PassiveEjectionConfig = PassiveEjectionConfig()) -> TargetGroupConfig {
        TargetGroupConfig(name: name, targets: targets, healthCheck: check, passiveEjection: ejection)
    }

    /// Asserts one change's group, target, states and reason.
    private func assertChange(
        _ change: HealthChange?, _ group: String, _ target: HostPort, _ previous: TargetHealthState,
        _ state: TargetHealthState, _ reason: TargetHealthReason?, file: StaticString = #filePath, line: UInt = #line
    ) {
        guard let change else { return XCTFail("missing change", file: file, line: line) }
        XCTAssertEqual(change.group, group, file: file, line: line)
        XCTAssertEqual(change.target, target, file: file, line: line)
        XCTAssertEqual(change.previous, previous, file: file, line: line)
        XCTAssertEqual(change.health.state, state, file: file, line: line)
        XCTAssertEqual(change.health.reason, reason, file: file, line: line)
    }

    func testPassingTargetBecomesHealthyOnceAndStaysQuiet() throws {
        let backend = try server(.status(200))
        let target = loopback(backend.port)
        let started = Date()
        let checker = try harness([group("blue", [target])])

        let changes = checker.waitForChanges(1)
        XCTAssertEqual(changes.count, 1)
        assertChange(changes.first, "blue", target, .initial, .healthy, nil)
        XCTAssertEqual(changes.first?.description, "target \(target) in blue: initial → healthy")

        // Further passing checks report nothing.
        XCTAssertTrue(checker.waitUntil { backend.requests.count >= 5 })
        XCTAssertEqual(checker.changes.count, 1)
        XCTAssertEqual(backend.requests.first,
                       "GET /health HTTP/1.1\r\nHost: \(target)\r\nUser-Agent: turnout-health-check\r\nConnection: close\r\n\r\n")
        let probes = checker.probes
        XCTAssertGreaterThanOrEqual(probes.count, 4)
        XCTAssertTrue(probes.allSatisfy { $0.group == "blue" && $0.target == target && $0.seconds > 0 }, "\(probes)")
        // Durations in seconds: one target's probes never overlap, so together they last less than the test so far.
        // (Not each below the timeout: a response read in the loop's turn that also found the timeout due still
        // passes, and its duration includes how late that turn came.)
        XCTAssertLessThan(probes.map(\.seconds).reduce(0, +), Date().timeIntervalSince(started), "\(probes)")

        let snapshot = checker.onLoop { $0.snapshot() }
        XCTAssertEqual(snapshot.map(\.group), ["blue"])
        XCTAssertEqual(snapshot.first?.targets.map(\.target), [target])
        XCTAssertEqual(snapshot.first?.targets.first?.health.state, .healthy)
        XCTAssertEqual(snapshot.first?.targets.first?.routable, true)
        XCTAssertEqual(checker.onLoop { $0.health(group: "blue", target: target) }?.state, .healthy)
        XCTAssertNil(checker.onLoop { $0.health(group: "green", target: target) })
        XCTAssertNil(checker.onLoop { $0.health(group: "blue", target: loopback(1)) })
    }

    func testRefusedStatusIsACodeMismatch() throws {
        let backend = try server(.status(503))
        let target = loopback(backend.port)
        let checker = try harness([group("blue", [target])])

        let changes = checker.waitForChanges(1)
        XCTAssertEqual(changes.count, 1)
        assertChange(changes.first, "blue", target, .initial, .unhealthy, .responseCodeMismatch)
        XCTAssertEqual(changes.first?.health.description, "Health checks failed with these codes: [503]")
        XCTAssertEqual(changes.first?.description,
                       "target \(target) in blue: initial → unhealthy (Target.ResponseCodeMismatch: Health checks failed with these codes: [503])")
    }

    func testSilentTargetTimesOut() throws {
        let backend = try server(.silent)
        let target = loopback(backend.port)
        let checker = try harness([group("blue", [target], check: fastCheck(interval: .milliseconds(50), timeout: .milliseconds(30)))])

        let changes = checker.waitForChanges(1)
        XCTAssertEqual(changes.count, 1)
        assertChange(changes.first, "blue", target, .initial, .unhealthy, .timeout)
        XCTAssertEqual(changes.first?.health.description, "Request timed out")
        XCTAssertEqual(changes.first?.description, "target \(target) in blue: initial → unhealthy (Target.Timeout)")
        XCTAssertTrue(checker.probes.allSatisfy { $0.seconds >= 0.029 }, "\(checker.probes)")
        // Each timed-out probe connected: the server's thread may accept the second only after the prober gave up.
        XCTAssertTrue(checker.waitUntil { backend.connections >= 2 }, "\(backend.connections) connections")
    }

    func testClosedPortIsAFailedConnection() throws {
        let target = loopback(try LoopbackHTTPServer.closedPort())
        let checker = try harness([group("blue", [target])])

        let changes = checker.waitForChanges(1)
        XCTAssertEqual(changes.count, 1)
        assertChange(changes.first, "blue", target, .initial, .unhealthy, .failedHealthChecks)
        XCTAssertEqual(changes.first?.health.description, "connection refused")
        XCTAssertEqual(changes.first?.description,
                       "target \(target) in blue: initial → unhealthy (Target.FailedHealthChecks: connection refused)")
    }

    func testTargetGoesDownAndComesBack() throws {
        let backend = try server(.status(200))
        let target = loopback(backend.port)
        let checker = try harness([group("blue", [target])])

        XCTAssertEqual(checker.waitForChanges(1).count, 1)
        backend.behavior = .status(500)
        XCTAssertEqual(checker.waitForChanges(2).count, 2)
        backend.behavior = .status(204)
        let changes = checker.waitForChanges(3)
        XCTAssertEqual(changes.count, 3)
        assertChange(changes[0], "blue", target, .initial, .healthy, nil)
        assertChange(changes[1], "blue", target, .healthy, .unhealthy, .responseCodeMismatch)
        XCTAssertEqual(changes[1].health.description, "Health checks failed with these codes: [500]")
        assertChange(changes[2], "blue", target, .unhealthy, .healthy, nil)
    }

    func testPassiveEjectionLastsUntilTheNextPassingCheck() throws {
        let backend = try server(.status(200))
        let target = loopback(backend.port)
        let checker = try harness([
            group("blue", [target]),
            group("green", [target], ejection: PassiveEjectionConfig(consecutiveFailures: 0)),
        ])
        XCTAssertEqual(checker.waitForChanges(2).count, 2)

        // In one turn of the loop, so that no probe comes in between.
        let (ejected, reason, ejectedAgain) = checker.onLoop { checker in
            (checker.passiveEjection(group: "blue", target: target), checker.health(group: "blue", target: target)?.reason,
             checker.passiveEjection(group: "blue", target: target))
        }
        XCTAssertTrue(ejected)
        XCTAssertEqual(reason, .passiveEjection)
        XCTAssertFalse(ejectedAgain, "already ejected")
        XCTAssertFalse(checker.onLoop { $0.passiveEjection(group: "green", target: target) }, "ejection disabled")
        XCTAssertFalse(checker.onLoop { $0.passiveEjection(group: "blue", target: loopback(1)) }, "unknown target")
        XCTAssertFalse(checker.onLoop { $0.passiveEjection(group: "red", target: target) }, "unknown group")

        let changes = checker.waitForChanges(4)
        XCTAssertEqual(changes.count, 4)
        let blue = changes.filter { $0.group == "blue" }
        XCTAssertEqual(blue.count, 3)
        assertChange(blue[0], "blue", target, .initial, .healthy, nil)
        assertChange(blue[1], "blue", target, .healthy, .unhealthy, .passiveEjection)
        XCTAssertEqual(blue[1].description, "target \(target) in blue: healthy → unhealthy (Target.PassiveEjection)")
        assertChange(blue[2], "blue", target, .unhealthy, .healthy, nil)
        XCTAssertEqual(changes.filter { $0.group == "green" }.count, 1)
    }

    func testDisabledCheckNeverProbesAndRoutesFromRegistration() throws {
        let backend = try server(.status(200))
        let target = loopback(backend.port)
        // Nothing is probed, so the short interval costs nothing and keeps the watch below at 4 intervals.
        let checker = try harness([
            group("blue", [target], check: fastCheck(enabled: false, interval: .milliseconds(50), timeout: .milliseconds(30))),
        ])

        usleep(200_000)
        XCTAssertEqual(backend.connections, 0)
        XCTAssertEqual(checker.changes, [])
        XCTAssertEqual(checker.probes, [])
        let report = checker.onLoop { $0.snapshot() }.first?.targets.first
        XCTAssertEqual(report?.health.state, .initial)
        XCTAssertEqual(report?.health.reason, .healthCheckDisabled)
        XCTAssertEqual(report?.routable, true)
        XCTAssertFalse(checker.onLoop { $0.passiveEjection(group: "blue", target: target) })
    }

    func testProbePathHostAndPortComeFromTheCheck() throws {
        let backend = try server(.status(200))
        let closed = try LoopbackHTTPServer.closedPort()
        let target = loopback(closed)
        let checker = try harness([
            group("blue", [target], check: fastCheck(path: "/ready?full=1", port: backend.port, host: "app.internal")),
        ])

        let changes = checker.waitForChanges(1)
        assertChange(changes.first, "blue", target, .initial, .healthy, nil)
        XCTAssertEqual(backend.requests.first,
                       "GET /ready?full=1 HTTP/1.1\r\nHost: app.internal\r\nUser-Agent: turnout-health-check\r\nConnection: close\r\n\r\n")
    }

    func testHostHeaderNamesTheProbedPortWhenOverridden() throws {
        let backend = try server(.status(200))
        let target = HostPort(host: "127.0.0.1", port: 1)
        let checker = try harness([group("blue", [target], check: fastCheck(port: backend.port))])

        assertChange(checker.waitForChanges(1).first, "blue", target, .initial, .healthy, nil)
        XCTAssertEqual(backend.requests.first,
                       "GET /health HTTP/1.1\r\nHost: 127.0.0.1:\(backend.port)\r\nUser-Agent: turnout-health-check\r\nConnection: close\r\n\r\n")
    }

    func testAnAddressOfANameIsProbedWithTheNameAsHost() throws {
        let backend = try server(.status(200))
        let name = HostPort(host: "app-blue", port: backend.port)
        let table = try routingTable([group("blue", [name])])
            .replacingAddresses([loopback(backend.port)], of: name, in: "blue")
        let checker = try HealthCheckerHarness(groups: table.groups)
        harnesses.append(checker)

        let change = checker.waitForChanges(1).first
        assertChange(change, "blue", loopback(backend.port), .initial, .healthy, nil)
        XCTAssertEqual(change?.name, name)
        XCTAssertEqual(change?.description, "target 127.0.0.1:\(backend.port) (app-blue:\(backend.port)) in blue: initial → healthy")
        XCTAssertEqual(backend.requests.first,
                       "GET /health HTTP/1.1\r\nHost: app-blue:\(backend.port)\r\nUser-Agent: turnout-health-check\r\nConnection: close\r\n\r\n",
                       "the address probed, the name in Host as before names were resolved apart")
    }

    func testSameTargetIsProbedPerGroupWithEachGroupsSettings() throws {
        let backend = try server(.status(200))
        let target = loopback(backend.port)
        let checker = try harness([
            group("blue", [target]),
            group("green", [target], check: fastCheck(matcher: "204")),
        ])

        let changes = checker.waitForChanges(2)
        XCTAssertEqual(changes.count, 2)
        assertChange(changes.first { $0.group == "blue" }, "blue", target, .initial, .healthy, nil)
        assertChange(changes.first { $0.group == "green" }, "green", target, .initial, .unhealthy, .responseCodeMismatch)
        XCTAssertEqual(changes.first { $0.group == "green" }?.health.description, "Health checks failed with these codes: [200]")
        XCTAssertEqual(Set(checker.probes.map(\.group)), ["blue", "green"])
    }

    func testUpdateStartsNewTargetsAndStopsRemovedOnes() throws {
        let first = try server(.status(200))
        let second = try server(.status(200))
        let a = loopback(first.port), b = loopback(second.port)
        let checker = try harness([group("blue", [a])])
        assertChange(checker.waitForChanges(1).first, "blue", a, .initial, .healthy, nil)

        checker.onLoop { $0.update(groups: routingTable([self.group("blue", [a, b])]).groups) }
        let changes = checker.waitForChanges(2)
        XCTAssertEqual(changes.count, 2)
        assertChange(changes[1], "blue", b, .initial, .healthy, nil)
        XCTAssertEqual(checker.onLoop { $0.health(group: "blue", target: a) }?.state, .healthy, "kept targets keep their health")

        checker.onLoop { $0.update(groups: routingTable([self.group("blue", [b])]).groups) }
        XCTAssertNil(checker.onLoop { $0.health(group: "blue", target: a) })
        let requestsAfterRemoval = first.requests.count
        sleep(intervals: 4)
        XCTAssertLessThanOrEqual(first.requests.count, requestsAfterRemoval + 1, "at most the probe already in flight")
        XCTAssertEqual(checker.onLoop { $0.snapshot() }.first?.targets.map(\.target), [b])

        checker.onLoop { $0.update(groups: []) }
        XCTAssertEqual(checker.onLoop { $0.snapshot() }, [])
        XCTAssertEqual(checker.changes.count, 2)
    }

    func testUnusedGroupKeepsProbingAndShowsItsHealthWhenWeighted() throws {
        let backend = try server(.status(200))
        let target = loopback(backend.port)
        let groups = [group("blue", [target])]
        let checker = try harness(groups, unusedGroups: ["blue"])

        XCTAssertTrue(checker.waitUntil { backend.requests.count >= 4 }, "probes run while unused")
        let unused = checker.onLoop { $0.health(group: "blue", target: target) }
        XCTAssertEqual(unused?.state, .unused)
        XCTAssertEqual(unused?.reason, .notInUse)
        XCTAssertEqual(checker.changes, [])

        checker.onLoop { $0.update(table: routingTable(groups, weights: ["blue": 100])) }
        let changes = checker.changes
        XCTAssertEqual(changes.count, 1)
        assertChange(changes.first, "blue", target, .unused, .healthy, nil)

        checker.onLoop { $0.update(table: routingTable(groups + [self.group("green", [])], weights: ["blue": 0, "green": 100])) }
        XCTAssertEqual(checker.changes.count, 2)
        assertChange(checker.changes.last, "blue", target, .healthy, .unused, .notInUse)
    }

    func testSwitchingTheCheckOffStartsTargetsOver() throws {
        let backend = try server(.status(503))
        let target = loopback(backend.port)
        let checker = try harness([group("blue", [target])])
        assertChange(checker.waitForChanges(1).first, "blue", target, .initial, .unhealthy, .responseCodeMismatch)

        checker.onLoop { $0.update(groups: routingTable([self.group("blue", [target], check: fastCheck(enabled: false))]).groups) }
        XCTAssertEqual(checker.changes.count, 2)
        assertChange(checker.changes.last, "blue", target, .unhealthy, .initial, .healthCheckDisabled)
        XCTAssertEqual(checker.onLoop { $0.snapshot() }.first?.targets.first?.routable, true)
        let connections = backend.connections
        sleep(intervals: 3)
        XCTAssertLessThanOrEqual(backend.connections, connections + 1, "at most the probe already in flight")
    }
}
