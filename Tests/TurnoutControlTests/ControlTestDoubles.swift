import TurnoutCore
@testable import TurnoutControl

/// A `ControlClock` that moves only when the test says so: `advance(by:)` runs the timers that
/// fall due on the way, in deadline order (and timers those schedule, when they fall due in time).
/// The wall clock moves with the monotonic one.
final class ManualClock: ControlClock {
    private struct Timer {
        let id: UInt64
        let deadline: UInt64
        let action: () -> Void
    }

    private(set) var monotonicNanoseconds: UInt64 = 1_000_000_000
    private var wallOffset: UInt64
    private var timers: [Timer] = []
    private var lastID: UInt64 = 0

    /// A clock whose wall time starts at `wallMilliseconds` (by default 2026-11-26T14:00:00.000Z).
    init(wallMilliseconds: UInt64 = 1_795_701_600_000) {
        wallOffset = wallMilliseconds * 1_000_000 - monotonicNanoseconds
    }

    var wallMilliseconds: UInt64 { (monotonicNanoseconds + wallOffset) / 1_000_000 }

    /// Timers scheduled and neither run nor cancelled.
    var pendingTimers: Int { timers.count }

    /// The deadlines of the pending timers, soonest first (monotonic ns).
    var pendingDeadlines: [UInt64] { timers.map(\.deadline).sorted() }

    func schedule(after nanoseconds: UInt64, _ action: @escaping () -> Void) -> TimerID {
        lastID += 1
        timers.append(Timer(id: lastID, deadline: monotonicNanoseconds + nanoseconds, action: action))
        return TimerID(value: lastID)
    }

    func cancel(_ id: TimerID) {
        timers.removeAll { $0.id == id.value }
    }

    /// Moves time forward by `nanoseconds`, running every timer due by then at its deadline.
    func advance(by nanoseconds: UInt64) {
        let end = monotonicNanoseconds + nanoseconds
        while let next = timers.filter({ $0.deadline <= end }).min(by: { ($0.deadline, $0.id) < ($1.deadline, $1.id) }) {
            timers.removeAll { $0.id == next.id }
            monotonicNanoseconds = max(monotonicNanoseconds, next.deadline)
            next.action()
        }
        monotonicNanoseconds = end
    }

    func advance(milliseconds: UInt64) { advance(by: milliseconds * 1_000_000) }

    /// Moves the wall clock alone (a clock step, or time that passed while a process was down).
    func stepWallClock(by milliseconds: UInt64) { wallOffset += milliseconds * 1_000_000 }
}

/// A `HealthProber` whose probes the test answers: it keeps every order and answers one only when told.
final class ScriptedProber: HealthProber {
    private var completions: [UInt64: (ProbeResult) -> Void] = [:]
    /// Every order, in the order given.
    private(set) var orders: [HealthProbeOrder] = []
    /// Registrations whose running probe was cancelled.
    private(set) var cancelled: [UInt64] = []
    /// The orders not answered yet, in the order given.
    private(set) var running: [HealthProbeOrder] = []

    func start(_ order: HealthProbeOrder, completion: @escaping (ProbeResult) -> Void) {
        precondition(completions[order.registration] == nil, "one probe at a time per registration")
        orders.append(order)
        running.append(order)
        completions[order.registration] = completion
    }

    private func finish(_ registration: UInt64) -> ((ProbeResult) -> Void)? {
        running.removeAll { $0.registration == registration }
        return completions.removeValue(forKey: registration)
    }

    func cancel(_ registration: UInt64) {
        guard finish(registration) != nil else { return }
        cancelled.append(registration)
    }

    /// Answers every running probe of `target` (in any group) with `result`; returns how many there were.
    @discardableResult
    func answer(_ target: HostPort, with result: ProbeResult) -> Int {
        let matching = running.filter { $0.target == target }
        for order in matching { finish(order.registration)?(result) }
        return matching.count
    }
}

/// A `NameResolver` whose lookups the test answers: it keeps every lookup and answers one only when told.
final class ScriptedResolver: NameResolver {
    private var pending: [(name: HostPort, completion: (NameAnswer) -> Void)] = []
    /// Every name looked up, in order.
    private(set) var lookups: [HostPort] = []

    func lookUp(_ name: HostPort, completion: @escaping (NameAnswer) -> Void) {
        lookups.append(name)
        pending.append((name, completion))
    }

    /// The names with a lookup not answered yet, in the order asked.
    var running: [HostPort] { pending.map(\.name) }

    /// Answers every running lookup of `name` with `answer`; returns how many there were.
    @discardableResult
    func answer(_ name: HostPort, with answer: NameAnswer) -> Int {
        let matching = pending.filter { $0.name == name }
        pending.removeAll { $0.name == name }
        for lookup in matching { lookup.completion(answer) }
        return matching.count
    }

    /// Answers every running lookup of `name` with `addresses` (`"10.0.0.5:3000"`...).
    @discardableResult
    func answer(_ name: HostPort, addresses: [String]) -> Int {
        answer(name, with: .addresses(addresses.map { HostPort.parse($0)! }))
    }
}

/// A `DataPlane` that records what is published, and runs `onPublish` at the moment of each publish
/// (to look at what is on disk then).
final class RecordingDataPlane: DataPlane {
    struct Publication {
        let table: RoutingTable
        let routable: [[Bool]]?
    }

    var boundPorts: [String: UInt16] = [:]
    private(set) var publications: [Publication] = []
    var onPublish: (Publication) -> Void = { _ in }

    func publish(_ table: RoutingTable, routable: [[Bool]]?) {
        let publication = Publication(table: table, routable: routable)
        publications.append(publication)
        onPublish(publication)
    }

    var last: Publication? { publications.last }
}
