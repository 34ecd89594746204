import Foundation
import Logging
import TurnoutCore
import TurnoutPosix
import XCTest
@testable import TurnoutProxy

/// The publishing call under load: real sockets on loopback, the real proxy in-process.
final class RoutingPublishTests: XCTestCase {
    private struct Sample {
        let start: UInt64
        let servedBy: String?
    }

    private final class Samples: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [Sample] = []
        func add(_ sample: Sample) { lock.withLock { items.append(sample) } }
        var all: [Sample] { lock.withLock { items } }
    }

    /// The proxy of `config`, started; it drains at the end of the test.
    private func startedProxy(_ config: TurnoutConfig) throws -> Proxy {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let proxy = try Proxy(config: config, table: RoutingTable(config: config, generation: 1), logger: logger)
        try proxy.start()
        addTeardownBlock {
            proxy.shutdown()
            proxy.wait()
        }
        return proxy
    }

    func testPublishedTableRoutesEveryLaterRequestAndFailsNone() throws {
        let blue = try NamedBackend(name: "blue")
        let green = try NamedBackend(name: "green")
        let config = try ConfigLoader.parse(yaml: """
            workers: 2
            listeners:
              production: { bind: 127.0.0.1:0, forward: { blue: 100 } }
            target_groups:
              blue: { targets: [127.0.0.1:\(blue.port)] }
              green: { targets: [127.0.0.1:\(green.port)] }
            """)
        let proxy = try startedProxy(config)
        let port = try XCTUnwrap(proxy.boundPorts["production"])

        let samples = Samples()
        let stopAt = MonotonicClock.now() + 1_500_000_000
        let group = DispatchGroup()
        for _ in 0..<4 {
            group.enter()
            Thread {
                defer { group.leave() }
                guard let client = try? KeepAliveClient(port: port) else {
                    samples.add(Sample(start: 0, servedBy: nil))
                    return
                }
                while MonotonicClock.now() < stopAt {
                    let start = MonotonicClock.now()
                    let result = client.get()
                    samples.add(Sample(start: start, servedBy: result.map { $0.status == 200 ? $0.servedBy : "status \($0.status)" }))
                    if result == nil { return }
                }
            }.start()
        }
        Thread.sleep(forTimeInterval: 0.5)
        let table = try proxy.publisher.routing.table.replacingForward(["production": [WeightedGroup(group: "green", weight: 100)]])
        proxy.publish(table)
        let acknowledged = MonotonicClock.now()
        group.wait()

        let all = samples.all
        XCTAssertGreaterThan(all.count, 100, "the clients made too few requests to mean anything")
        XCTAssertEqual(all.filter { $0.servedBy == nil || $0.servedBy!.hasPrefix("status") }.count, 0, "failed requests")
        let after = all.filter { $0.start > acknowledged }
        XCTAssertFalse(after.isEmpty)
        XCTAssertEqual(after.filter { $0.servedBy != "green" }.count, 0, "requests started after the publish went by the old table")
        XCTAssertGreaterThan(all.filter { $0.servedBy == "blue" }.count, 0, "nothing went by the first table")
    }

    /// A group's `upstream_response` travels in the published table: a request routed after a publish
    /// that shortens it times out by the new limit, not the minute the proxy started with.
    func testAGroupsResponseTimeoutComesWithThePublishedTable() throws {
        let hung = try SilentListener()
        func config(upstreamResponse: String) throws -> TurnoutConfig {
            try ConfigLoader.parse(yaml: """
                workers: 1
                listeners:
                  production: { bind: 127.0.0.1:0, forward: { blue: 100 } }
                target_groups:
                  blue:
                    targets: [127.0.0.1:\(hung.port)]
                    health_check: { enabled: false }
                    timeouts: { upstream_response: \(upstreamResponse) }
                timeouts: { upstream_response: 1m }
                """)
        }
        let started = try config(upstreamResponse: "1m")
        let proxy = try startedProxy(started)
        XCTAssertEqual(proxy.publisher.table.groups[0].upstreamResponseTimeout, .seconds(60))
        let reloaded = try config(upstreamResponse: "200ms")
        proxy.publish(RoutingTable(config: reloaded, generation: 2))

        // The client gives up after 5 s (its receive timeout): only the published 200 ms answers in time.
        let client = try KeepAliveClient(port: try XCTUnwrap(proxy.boundPorts["production"]))
        XCTAssertEqual(client.get()?.status, 504)
    }
}
