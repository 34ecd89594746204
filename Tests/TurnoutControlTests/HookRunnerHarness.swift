import Foundation
import Glibc
@testable import TurnoutControl
import TurnoutCore
import TurnoutPosix

/// A `HookRunner` on a `ControlLoop` running on its own thread. The test thread reaches the runner only through
/// `start`, `cancel` and `onLoop`, which hand the call to the loop.
final class HookRunnerHarness: @unchecked Sendable {
    // @unchecked: `runner` is used on the loop thread only (inside `execute`d work); `loop.execute` and
    // `loop.stop` are safe from any thread.
    private let loop: ControlLoop
    private let runner: HookRunner
    private var thread: PosixThread?
    private var nextRunID: UInt64 = 0
    private var loopThread = pthread_t()

    /// `names`: what the runner's resolver answers for a host name (any other name fails to resolve).
    init(killGrace: UInt64 = 100_000_000, names: [String: String] = [:]) throws {
        loop = try ControlLoop()
        runner = HookRunner(loop: loop, resolver: LoopAnsweringResolver(loop: loop, names: names), killGrace: killGrace)
        thread = try PosixThread(name: "hook-loop") { [self] in loop.run() }
        let box = Box<pthread_t>()
        onLoopVoid { box.value = pthread_self() }
        loopThread = box.value!
    }

    /// Starts `hook` with `context` (its run id replaced by a fresh one); the run reports into the result.
    func start(_ hook: HookSpec, context: HookContext = hookContext()) -> HookRun {
        nextRunID += 1
        var context = context
        context.runID = nextRunID
        let run = HookRun(runID: nextRunID, loopThread: loopThread)
        let runner = self.runner
        let (hookCopy, contextCopy) = (hook, context)
        onLoopVoid {
            run.setStarting(true)
            runner.start(hookCopy, context: contextCopy) { outcome in run.finish(outcome) }
            run.setStarting(false)
        }
        return run
    }

    /// Starts `hook` and waits for its outcome (nil when none came within `seconds`).
    func run(_ hook: HookSpec, context: HookContext = hookContext(), within seconds: Double = 5) -> HookOutcome? {
        start(hook, context: context).wait(seconds: seconds)
    }

    func cancel(_ run: HookRun) {
        let runner = self.runner
        let runID = run.runID
        onLoopVoid { runner.cancel(runID: runID) }
    }

    /// Runs started and not over yet, read on the loop.
    var activeRuns: Int {
        let box = Box<Int>()
        let runner = self.runner
        onLoopVoid { box.value = runner.activeRuns }
        return box.value ?? -1
    }

    /// Runs `body` on the loop thread and waits for it.
    private func onLoopVoid(_ body: @escaping () -> Void) {
        let done = DispatchSemaphore(value: 0)
        let call = UncheckedCall(body)
        loop.execute {
            call.body()
            done.signal()
        }
        done.wait()
    }

    /// Polls `condition` every 5 ms for at most `seconds`.
    @discardableResult
    func waitUntil(within seconds: Double = 5, _ condition: () -> Bool) -> Bool {
        pollUntil(within: seconds, condition)
    }

    func stop() {
        loop.stop()
        thread?.join()
    }
}

/// One run's outcome as it arrives, and whether it arrived on the loop's thread.
final class HookRun: @unchecked Sendable {
    // @unchecked: the fields are only touched with `lock` held.
    let runID: UInt64
    private let loopThread: pthread_t
    private let lock = NSCondition()
    private var outcome: HookOutcome?
    private var reports = 0
    private var reportedOnLoop = true
    private var starting = false
    private var reportedInsideStart = false

    init(runID: UInt64, loopThread: pthread_t) {
        self.runID = runID
        self.loopThread = loopThread
    }

    func finish(_ outcome: HookOutcome) {
        let onLoop = pthread_equal(pthread_self(), loopThread) != 0
        lock.withLock {
            self.outcome = outcome
            reports += 1
            reportedOnLoop = reportedOnLoop && onLoop
            reportedInsideStart = reportedInsideStart || starting
            lock.broadcast()
        }
    }

    /// The outcome, waiting at most `seconds` for it.
    func wait(seconds: Double) -> HookOutcome? {
        let deadline = Date().addingTimeInterval(seconds)
        return lock.withLock {
            while outcome == nil && lock.wait(until: deadline) {}
            return outcome
        }
    }

    /// How many times the run reported (exactly once is right).
    var reportCount: Int { lock.withLock { reports } }
    /// Whether every report came on the loop's thread, and none from within `start`.
    var wasReportedOnLoop: Bool { lock.withLock { reportedOnLoop && !reportedInsideStart } }

    func setStarting(_ value: Bool) { lock.withLock { starting = value } }
    var current: HookOutcome? { lock.withLock { outcome } }
}

private final class Box<T>: @unchecked Sendable {
    // @unchecked: written on the loop thread before the semaphore the reader waits on is signalled.
    var value: T?
}

private final class UncheckedCall: @unchecked Sendable {
    // @unchecked: the closure is created on the test thread and run once on the loop thread while the test
    // thread waits.
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}

/// A context with every value set: deployment `d-1` moving `production` from blue to green.
func hookContext(phase: String = "BeforeAllowTraffic", testURL: String? = "http://127.0.0.1:9091") -> HookContext {
    HookContext(
        runID: 0, deploymentID: "d-1", phase: phase, listener: "production", productionURL: "http://127.0.0.1:9090",
        testListener: testURL == nil ? nil : "test", testURL: testURL, targetGroup: "green", liveGroup: "blue")
}

/// An `exec` hook running `/bin/sh -c script`.
func shellHook(_ script: String, timeoutMilliseconds: UInt64 = 5_000) -> HookSpec {
    HookSpec(action: .exec(arguments: ["/bin/sh", "-c", script]), timeout: .milliseconds(timeoutMilliseconds))
}

/// A `NameResolver` answering from a table, on the loop's next turn (never from within `lookUp`), as the real one
/// answers from its lookup thread.
private final class LoopAnsweringResolver: NameResolver {
    private let loop: ControlLoop
    private let names: [String: String]

    init(loop: ControlLoop, names: [String: String]) {
        self.loop = loop
        self.names = names
    }

    func lookUp(_ name: HostPort, completion: @escaping (NameAnswer) -> Void) {
        let answer: NameAnswer = names[name.host].map { .addresses([HostPort(host: $0, port: name.port)]) }
            ?? .failed("name or service not known")
        loop.schedule(after: 0) { completion(answer) }
    }
}
