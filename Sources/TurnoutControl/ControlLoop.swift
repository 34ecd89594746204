import Synchronization
import TurnoutPosix

/// Identifies a scheduled timer so it can be cancelled.
public struct TimerID: Hashable, Sendable {
    let value: UInt64
}

/// The control thread's time: one-shot timers on the monotonic clock, and the wall clock that
/// drain deadlines are kept in (they outlive the process in the state files) and audit entries
/// are stamped with. `ControlLoop` is the real one; the unit tests advance a manual clock, so no
/// test of the control plane or the health checker sleeps.
public protocol ControlClock: AnyObject {
    /// Monotonic nanoseconds, the clock `schedule(after:)` counts on.
    var monotonicNanoseconds: UInt64 { get }
    /// Milliseconds since the Unix epoch.
    var wallMilliseconds: UInt64 { get }
    /// Runs `action` on the control thread once `nanoseconds` have passed.
    @discardableResult
    func schedule(after nanoseconds: UInt64, _ action: @escaping () -> Void) -> TimerID
    /// The timer will not run (nothing happens when it already has).
    func cancel(_ id: TimerID)
}

/// The control thread's event loop: descriptors with handlers, one-shot timers and
/// work handed over from other threads. Not the data path: closures and dictionaries
/// are fine here. Everything but `execute` and `stop` must be called on the loop's thread.
public final class ControlLoop: ControlClock {
    private let epoll: Epoll
    private let wake: EventNotifier
    private let inbox = Inbox()
    private var handlers: [Int32: (EpollEvents) -> Void] = [:]
    private var timers = TimerHeap()
    private var nextTimer: UInt64 = 0
    private var cancelled = Set<UInt64>()
    private var running = false

    /// Monotonic nanoseconds, refreshed at every turn of the loop.
    public private(set) var now: UInt64 = MonotonicClock.now()

    public init() throws {
        epoll = try Epoll(capacity: 64)
        wake = try EventNotifier()
        try epoll.add(wake.fd, [.readable], token: UInt64(UInt32(bitPattern: wake.fd)))
    }

    deinit { wake.close() }

    /// Watches `fd`; `handler` runs on the loop with the ready events.
    @discardableResult
    public func register(fd: Int32, events: EpollEvents, _ handler: @escaping (EpollEvents) -> Void) -> Bool {
        do {
            try epoll.add(fd, events, token: UInt64(UInt32(bitPattern: fd)))
        } catch {
            return false
        }
        handlers[fd] = handler
        return true
    }

    public func modify(fd: Int32, events: EpollEvents) {
        try? epoll.modify(fd, events, token: UInt64(UInt32(bitPattern: fd)))
    }

    /// Stops watching `fd`; call before closing it.
    public func unregister(fd: Int32) {
        epoll.remove(fd)
        handlers[fd] = nil
    }

    /// Runs `action` on the loop once `nanoseconds` have passed.
    @discardableResult
    public func schedule(after nanoseconds: UInt64, _ action: @escaping () -> Void) -> TimerID {
        nextTimer += 1
        timers.push(deadline: MonotonicClock.now() &+ nanoseconds, id: nextTimer, action: action)
        return TimerID(value: nextTimer)
    }

    public func cancel(_ id: TimerID) {
        cancelled.insert(id.value)
    }

    public var monotonicNanoseconds: UInt64 { MonotonicClock.now() }

    public var wallMilliseconds: UInt64 { WallClock.now() / 1_000_000 }

    /// Hands `work` to the loop from any thread.
    public func execute(_ work: @escaping @Sendable () -> Void) {
        inbox.post(work)
        wake.signal()
    }

    /// Asks the loop to return from `run` (any thread).
    public func stop() {
        inbox.requestStop()
        wake.signal()
    }

    /// Runs until `stop`.
    public func run() {
        running = true
        while running {
            now = MonotonicClock.now()
            var timeout: Int32 = -1
            if let deadline = timers.nextDeadline {
                timeout = deadline <= now ? 0 : Int32(min((deadline - now) / 1_000_000 + 1, 60_000))
            }
            let count = epoll.wait(timeoutMilliseconds: timeout)
            now = MonotonicClock.now()
            for i in 0..<count {
                let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: epoll.tokens[i]))
                let events = EpollEvents(rawValue: epoll.events[i])
                if fd == wake.fd {
                    wake.drain()
                    let (work, stopRequested) = inbox.take()
                    for item in work { item() }
                    if stopRequested { running = false }
                } else if let handler = handlers[fd] {
                    handler(events)
                }
            }
            while let timer = timers.popExpired(now: now) {
                if cancelled.remove(timer.id) != nil { continue }
                timer.action()
                now = MonotonicClock.now()
            }
        }
    }
}

/// Work posted from other threads.
private final class Inbox: Sendable {
    private let state = Mutex<(work: [@Sendable () -> Void], stop: Bool)>(([], false))

    func post(_ work: @escaping @Sendable () -> Void) { state.withLock { $0.work.append(work) } }

    func requestStop() { state.withLock { $0.stop = true } }

    func take() -> ([@Sendable () -> Void], Bool) {
        state.withLock { current in
            let taken = current.work
            current.work.removeAll()
            return (taken, current.stop)
        }
    }
}

/// A binary min-heap of timers by deadline.
struct TimerHeap {
    struct Entry {
        let deadline: UInt64
        let id: UInt64
        let action: () -> Void
    }

    private var entries: [Entry] = []

    // Subscripts rather than `first` or `swapAt`: unspecialised (debug builds), both go through the generic
    // collection's read coroutine, which allocates a frame on every call, and the figures' timer is pushed and
    // popped once a second.
    var nextDeadline: UInt64? { entries.isEmpty ? nil : entries[0].deadline }

    private mutating func swap(_ i: Int, _ j: Int) {
        let held = entries[i]
        entries[i] = entries[j]
        entries[j] = held
    }

    mutating func push(deadline: UInt64, id: UInt64, action: @escaping () -> Void) {
        entries.append(Entry(deadline: deadline, id: id, action: action))
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].deadline < entries[parent].deadline else { break }
            swap(child, parent)
            child = parent
        }
    }

    mutating func popExpired(now: UInt64) -> Entry? {
        guard !entries.isEmpty, entries[0].deadline <= now else { return nil }
        let first = entries[0]
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var smallest = parent
                if left < entries.count && entries[left].deadline < entries[smallest].deadline { smallest = left }
                if right < entries.count && entries[right].deadline < entries[smallest].deadline { smallest = right }
                if smallest == parent { break }
                swap(parent, smallest)
                parent = smallest
            }
        }
        return first
    }
}
