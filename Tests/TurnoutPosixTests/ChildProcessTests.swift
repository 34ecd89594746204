import Glibc
import Synchronization
import TurnoutPosix
import XCTest

final class ChildProcessTests: XCTestCase {
    func testExitStatusAndOutputOfAReapedChild() throws {
        let child = try ChildProcess.spawn(arguments: ["/bin/sh", "-c", "echo out; echo err >&2; exit 4"], environment: [])
        XCTAssertEqual(end(child), .exited(status: 4))
        XCTAssertEqual(output(child), "out\nerr\n")
    }

    func testChildGetsOnlyTheGivenEnvironmentAndStandardInputIsEmpty() throws {
        let child = try ChildProcess.spawn(
            arguments: ["/bin/sh", "-c", "echo \"$A,$HOME\"; cat; echo end"], environment: ["A=1", "PATH=/usr/bin:/bin"])
        XCTAssertEqual(end(child), .exited(status: 0))
        XCTAssertEqual(output(child), "1,\nend\n")
    }

    func testChildHandlesSignalsThisThreadBlocksOrIgnores() throws {
        // The control thread blocks SIGTERM (it reads it from a signalfd) and `serve` ignores SIGPIPE: a command
        // must still die of both, as it would started from a shell.
        var blocked = sigset_t()
        var previous = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &blocked, &previous)
        let previousPipe = signal(SIGPIPE, SIG_IGN)
        defer {
            pthread_sigmask(SIG_SETMASK, &previous, nil)
            signal(SIGPIPE, previousPipe)
        }
        let terminated = try ChildProcess.spawn(arguments: ["/bin/sh", "-c", "kill -TERM $$; sleep 5"], environment: [])
        XCTAssertEqual(end(terminated), .killedBySignal(SIGTERM))
        let piped = try ChildProcess.spawn(arguments: ["/bin/sh", "-c", "kill -PIPE $$; sleep 5"], environment: [])
        XCTAssertEqual(end(piped), .killedBySignal(SIGPIPE))
        FileIO.close(terminated.outputDescriptor)
        FileIO.close(piped.outputDescriptor)
    }

    func testChildLeadsAProcessGroupThatCanBeSignalledWhole() throws {
        let child = try ChildProcess.spawn(arguments: ["/bin/sh", "-c", "sleep 30 & echo $!; wait"], environment: [])
        XCTAssertTrue(FileIO.wait(child.outputDescriptor, for: Int16(POLLIN), until: MonotonicClock.now() + 5_000_000_000))
        let line = output(child, untilEnd: false)
        let background = try XCTUnwrap(pid_t(line.dropLast()))
        XCTAssertEqual(getpgid(child.pid), child.pid)
        XCTAssertEqual(getpgid(background), child.pid)
        child.signalGroup(SIGKILL)
        XCTAssertEqual(end(child), .killedBySignal(SIGKILL))
        FileIO.close(child.outputDescriptor)
    }

    func testChildDiesWithTheThreadThatSpawnedIt() throws {
        // PR_SET_PDEATHSIG: the proxy's control thread spawns hooks; when it is gone (a kill -9 of the proxy) so
        // are they. A thread of its own here, so that its end can be seen without ending the test process.
        let spawned = Mutex<ChildProcess?>(nil)
        let thread = try PosixThread(name: "spawner") {
            spawned.withLock { $0 = try? ChildProcess.spawn(arguments: ["sleep", "30"], environment: ["PATH=/usr/bin:/bin"]) }
        }
        thread.join()
        let child = try XCTUnwrap(spawned.withLock { $0 })
        XCTAssertEqual(end(child), .killedBySignal(SIGKILL))
        FileIO.close(child.outputDescriptor)
    }

    func testMissingProgramIsAnErrorFromSpawn() {
        XCTAssertThrowsError(try ChildProcess.spawn(arguments: ["no-such-program-anywhere"], environment: ["PATH=/bin"])) {
            XCTAssertEqual(($0 as? SystemError)?.errno, ENOENT)
        }
    }

    /// Waits for the exit descriptor (at most 5 s), then reaps.
    private func end(_ child: ChildProcess) -> ChildProcess.Termination? {
        guard FileIO.wait(child.exitDescriptor, for: Int16(POLLIN), until: MonotonicClock.now() + 5_000_000_000) else {
            return nil
        }
        defer { FileIO.close(child.exitDescriptor) }
        return child.reap()
    }

    /// Everything in the output pipe (to its end, or what is there now).
    private func output(_ child: ChildProcess, untilEnd: Bool = true) -> String {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let result = chunk.withUnsafeMutableBytes { FileIO.read(child.outputDescriptor, into: $0.baseAddress!, count: $0.count) }
            switch result {
            case .bytes(let count): bytes += chunk[0..<count]
            case .wouldBlock:
                if !untilEnd { return String(decoding: bytes, as: UTF8.self) }
                _ = FileIO.wait(child.outputDescriptor, for: Int16(POLLIN), until: MonotonicClock.now() + 5_000_000_000)
            case .endOfFile, .failed:
                FileIO.close(child.outputDescriptor)
                return String(decoding: bytes, as: UTF8.self)
            }
        }
    }
}
