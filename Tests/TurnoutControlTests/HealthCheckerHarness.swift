import Foundation
import TurnoutControl
import TurnoutCore
import TurnoutPosix

/// A `HealthChecker` on a `ControlLoop` running on its own thread, with everything it reports recorded.
/// The test thread reaches the checker only through `onLoop`.
final class HealthCheckerHarness: @unchecked Sendable {
    // @unchecked: `loop` and `checker` are used by the loop thread, and by the test thread only before the loop
    // thread starts and inside `onLoop` (which runs on the loop and waits for it).
    struct Probe: Equatable, Sendable {
        let group: String
        let target: HostPort
        let seconds: Double
    }

    private let loop: ControlLoop
    private let checker: HealthChecker
    private let recorded = Recorded()
    private var thread: PosixThread?

    init(groups: [GroupRoute], unusedGroups: Set<String> = []) throws {
        loop = try ControlLoop()
        let recorded = self.recorded
        checker = HealthChecker(
            loop: loop,
            logger: CapturedLog().logger,
            onChange: { change in recorded.withState { $0.changes.append(change) } },
            onProbe: { group, target, seconds in
                recorded.withState { $0.probes.append(Probe(group: group, target: target, seconds: seconds)) }
            }
        )
        checker.update(groups: groups, unusedGroups: unusedGroups)
        thread = try PosixThread(name: "health-loop") { [self] in loop.run() }
    }

    var changes: [HealthChange] { recorded.withState { $0.changes } }
    var probes: [Probe] { recorded.withState { $0.probes } }

    /// Runs `body` with the checker on the loop thread and waits for its result.
    func onLoop<T>(_ body: @escaping (HealthChecker) -> T) -> T {
        let call = LoopCall(checker: checker, body: body)
        loop.execute { call.run() }
        call.done.wait()
        return call.result!
    }

    /// Waits until at least `count` changes were reported (at most `seconds`), then returns all of them.
    func waitForChanges(_ count: Int, within seconds: Double = 5) -> [HealthChange] {
        waitUntil(within: seconds) { self.changes.count >= count }
        return changes
    }

    /// Polls `condition` every 5 ms for at most `seconds`.
    @discardableResult
    func waitUntil(within seconds: Double = 5, _ condition: () -> Bool) -> Bool {
        pollUntil(within: seconds, condition)
    }

    func stop() {
        onLoop { $0.shutdown() }
        loop.stop()
        thread?.join()
    }
}

/// What the checker reported, from the loop thread, while the test thread polls it.
///
/// An `NSLock` rather than a `Mutex`: on Linux a contended `Mutex` is handed over by a futex call inside the
/// standard library, which ThreadSanitizer does not see, so `swift test --sanitize=thread` reported the test
/// thread's reads as races with the loop thread's appends whenever the two met at the lock.
private final class Recorded: @unchecked Sendable {
    // @unchecked: `state` is only touched with `lock` held.
    typealias State = (changes: [HealthChange], probes: [HealthCheckerHarness.Probe])
    private let lock = NSLock()
    private var state: State = ([], [])

    func withState<T>(_ body: (inout State) -> T) -> T {
        lock.withLock { body(&state) }
    }
}

/// One call onto the loop thread with its result.
private final class LoopCall<T>: @unchecked Sendable {
    // @unchecked: `result` is written on the loop thread before `done` is signalled, and read after the wait.
    let checker: HealthChecker
    let body: (HealthChecker) -> T
    let done = DispatchSemaphore(value: 0)
    var result: T?

    init(checker: HealthChecker, body: @escaping (HealthChecker) -> T) {
        self.checker = checker
        self.body = body
    }

    func run() {
        result = body(checker)
        done.signal()
    }
}

/// The probe timeout of `fastCheck()`: room for a loopback probe on a loaded machine or under a sanitizer, where
/// one can take tens of milliseconds, so that only a test of the timeout itself sees one.
let roomyTimeout = ConfigDuration.milliseconds(250)
/// The probe interval of `fastCheck()`, just above `roomyTimeout` (a check's timeout is shorter than its interval).
let roomyInterval = ConfigDuration.milliseconds(300)

/// Health-check settings short enough for tests: thresholds 2, a probe every `interval`, each failing after
/// `timeout`.
func fastCheck(
    enabled: Bool = true, path: String = "/health", port: UInt16? = nil, matcher: String = "200-399", host: String? = nil,
    interval: ConfigDuration = roomyInterval, timeout: ConfigDuration = roomyTimeout
) -> HealthCheckConfig {
    HealthCheckConfig(
        enabled: enabled, path: path, port: port, interval: interval, timeout: timeout,
        healthyThreshold: 2, unhealthyThreshold: 2, matcher: StatusMatcher.parse(matcher)!, host: host)
}

/// The routing table of `groups`, with a `production` listener forwarding to `weights` (default: every group an
/// equal share).
func routingTable(_ groups: [TargetGroupConfig], weights: [String: Int]? = nil) -> RoutingTable {
    let equalShares = WeightedGroup.apportion(groups.map { _ in 1 }) ?? []
    let forward = groups.enumerated().map { WeightedGroup(group: $1.name, weight: weights?[$1.name] ?? equalShares[$0]) }
    let config = TurnoutConfig(
        listeners: [ListenerConfig(name: "production", bind: HostPort(host: "0.0.0.0", port: 8080), forward: forward)],
        targetGroups: groups)
    return RoutingTable(config: config, generation: 1)
}

/// Polls `condition` every 5 ms for at most `seconds`; whether it became true.
func pollUntil(within seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while !condition() {
        if Date() > deadline { return false }
        usleep(5_000)
    }
    return true
}

/// Sleeps `intervals` probe intervals of `fastCheck()`.
func sleep(intervals: Int) {
    usleep(UInt32(intervals) * UInt32(roomyInterval.nanoseconds / 1_000))
}

func loopback(_ port: UInt16) -> HostPort { HostPort(host: "127.0.0.1", port: port) }
