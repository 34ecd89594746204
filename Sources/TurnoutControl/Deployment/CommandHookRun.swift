import Glibc
import TurnoutPosix

/// One run of an `exec` hook on the control loop: the command started (`ChildProcess`) in a process group of its
/// own, its exit watched through a pidfd on the loop's epoll, its output read from a pipe on the same loop.
///
/// The outcome comes when the command itself has exited and been reaped: exit status 0 passes. At the timeout
/// its whole group gets SIGTERM, and SIGKILL after `killGrace` or as soon as the command has exited, whichever
/// comes first, so nothing it started in its group outlives a timed-out hook; the outcome is then `timedOut`.
/// What the command started and left running after exiting by itself (a daemon an `install` command starts) is
/// left alone, and the pipe is read and discarded until they close it too, so that their writes do not fail
/// (SIGPIPE would end them).
final class CommandHookRun {
    private let loop: ControlLoop
    private let killGrace: UInt64
    private var completion: ((HookOutcome) -> Void)?
    /// Called once the run holds nothing any more: the command reaped and its pipe closed.
    private let onEnded: () -> Void
    private var process: ChildProcess?
    private var tail = OutputTail(capacity: OutputTail.defaultCapacity)
    private var timedOut = false
    private var reaped = false
    private var outputOpen = false
    private var ended = false
    private var timers: [TimerID] = []

    init(loop: ControlLoop, killGrace: UInt64, completion: @escaping (HookOutcome) -> Void, onEnded: @escaping () -> Void) {
        self.loop = loop
        self.killGrace = killGrace
        self.completion = completion
        self.onEnded = onEnded
    }

    /// Starts `arguments` with `environment`; reports from the loop, never from here.
    func start(arguments: [String], environment: [String], timeout: UInt64) {
        let started: ChildProcess
        do {
            started = try ChildProcess.spawn(arguments: arguments, environment: environment)
        } catch {
            let reason = "cannot start \(arguments.first ?? ""): \(String(cString: strerror(error.errno)))"
            reaped = true
            loop.schedule(after: 0) { [weak self] in self?.report(.failed(reason: reason, outputTail: "")) }
            return
        }
        process = started
        // The runner holds the run until `onEnded`; the loop's handlers and timers only refer to it.
        outputOpen = loop.register(fd: started.outputDescriptor, events: [.readable]) { [weak self] _ in self?.readOutput() }
        if !outputOpen { FileIO.close(started.outputDescriptor) }
        if !loop.register(fd: started.exitDescriptor, events: [.readable], { [weak self] _ in self?.collect() }) {
            // The loop cannot watch its end: stop it now and collect it on the next turns rather than leave it
            // running unwatched.
            started.signalGroup(SIGKILL)
            pollForExit()
        }
        timers.append(loop.schedule(after: timeout) { [weak self] in self?.timeOut() })
    }

    /// Abandons the run without an outcome: the command's group is stopped as at a timeout. Nothing happens once
    /// the outcome was reported.
    func cancel() {
        guard completion != nil else { return }
        completion = nil
        timeOut()
    }

    private func timeOut() {
        guard !reaped, let process, !timedOut else { return }
        timedOut = true
        process.signalGroup(SIGTERM)
        timers.append(loop.schedule(after: killGrace) { [weak self] in
            if self?.reaped == false { process.signalGroup(SIGKILL) }
        })
    }

    private func pollForExit() {
        collect()
        if !reaped { loop.schedule(after: 10_000_000) { [weak self] in self?.pollForExit() } }
    }

    private func readOutput() {
        guard let process, outputOpen else { return }
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let result = chunk.withUnsafeMutableBytes { FileIO.read(process.outputDescriptor, into: $0.baseAddress!, count: $0.count) }
            switch result {
            case .bytes(let count):
                // Once the outcome is out, output is read only to keep the pipe open for what still writes to it.
                if !reaped { tail.append(chunk[0..<count]) }
            case .wouldBlock: return
            case .endOfFile, .failed:
                loop.unregister(fd: process.outputDescriptor)
                FileIO.close(process.outputDescriptor)
                outputOpen = false
                return endIfIdle()
            }
        }
    }

    /// Reaps the command once its pidfd says it ended, and reports.
    private func collect() {
        guard let process, !reaped, let termination = process.reap() else { return }
        // What it wrote before exiting is in the pipe already.
        readOutput()
        reaped = true
        loop.unregister(fd: process.exitDescriptor)  // harmless when it was never registered
        FileIO.close(process.exitDescriptor)
        for timer in timers { loop.cancel(timer) }
        timers.removeAll()
        let output = tail.text
        if timedOut {
            // Whatever of its group is still there did not stop at SIGTERM either.
            process.signalGroup(SIGKILL)
            report(.timedOut(outputTail: output))
        } else {
            switch termination {
            case .exited(status: 0): report(.passed(outputTail: output))
            case .exited(let status): report(.failed(reason: "exit status \(status)", outputTail: output))
            case .killedBySignal(let signal): report(.failed(reason: "killed by signal \(signal)", outputTail: output))
            }
        }
        endIfIdle()
    }

    private func report(_ outcome: HookOutcome) {
        guard let completion else { return }
        self.completion = nil
        completion(outcome)
        endIfIdle()
    }

    private func endIfIdle() {
        guard reaped, !outputOpen, !ended else { return }
        ended = true
        onEnded()
    }
}

/// The last bytes of a command's output, at most `capacity`: what the deployment's record keeps.
struct OutputTail {
    /// 4 KiB: enough for a failing script's last lines, small enough for every record to carry.
    static let defaultCapacity = 4096

    let capacity: Int
    private var bytes: [UInt8] = []
    private var dropped = false

    init(capacity: Int) {
        self.capacity = capacity
    }

    mutating func append(_ more: ArraySlice<UInt8>) {
        bytes += more.suffix(capacity)
        if bytes.count > capacity {
            bytes.removeFirst(bytes.count - capacity)
            dropped = true
        } else if more.count > capacity {
            dropped = true
        }
    }

    /// The bytes as UTF-8 text; a character cut in two where older output was dropped is left out.
    var text: String {
        var start = 0
        if dropped {
            while start < bytes.count && start < 3 && bytes[start] & 0xC0 == 0x80 { start += 1 }
        }
        return String(decoding: bytes[start...], as: UTF8.self)
    }
}
