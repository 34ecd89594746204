import Foundation
import Glibc
@testable import TurnoutControl
import TurnoutCore
import XCTest

/// `exec` hooks run by the real `HookRunner` on a control loop: real processes, real pipes, real signals.
final class CommandHookTests: XCTestCase {
    private var harness: HookRunnerHarness!
    private var directory: String!

    override func setUpWithError() throws {
        harness = try HookRunnerHarness()
        directory = NSTemporaryDirectory() + "turnout-hooks-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        harness.stop()
        harness = nil
        try? FileManager.default.removeItem(atPath: directory)
        super.tearDown()
    }

    func testExitZeroPassesWithStandardOutputAndErrorInterleaved() {
        let run = harness.start(shellHook("echo hello; echo oops >&2; echo bye"))
        XCTAssertEqual(run.wait(seconds: 5), .passed(outputTail: "hello\noops\nbye\n"))
        XCTAssertEqual(run.reportCount, 1)
        XCTAssertTrue(run.wasReportedOnLoop)
        XCTAssertTrue(harness.waitUntil { self.harness.activeRuns == 0 })
    }

    func testNonZeroExitFailsNamingTheStatus() {
        let outcome = harness.run(shellHook("echo 'smoke test: 2 of 5 failed'; exit 3"))
        XCTAssertEqual(outcome, .failed(reason: "exit status 3", outputTail: "smoke test: 2 of 5 failed\n"))
    }

    func testCommandKilledBySignalFailsNamingTheSignal() {
        let outcome = harness.run(shellHook("kill -KILL $$"))
        XCTAssertEqual(outcome, .failed(reason: "killed by signal 9", outputTail: ""))
    }

    func testMissingProgramFailsWithoutReportingInsideStart() {
        let run = harness.start(HookSpec(action: .exec(arguments: ["./no-such-hook"]), timeout: .seconds(5)))
        XCTAssertEqual(run.wait(seconds: 5),
                       .failed(reason: "cannot start ./no-such-hook: No such file or directory", outputTail: ""))
        XCTAssertTrue(run.wasReportedOnLoop)
        XCTAssertTrue(harness.waitUntil { self.harness.activeRuns == 0 })
    }

    func testNoShellUnlessAsked() {
        // Without a shell the arguments reach the program as they are: no expansion, no word splitting.
        let outcome = harness.run(HookSpec(action: .exec(arguments: ["/bin/echo", "$HOME", "a  b", "*"]), timeout: .seconds(5)))
        XCTAssertEqual(outcome, .passed(outputTail: "$HOME a  b *\n"))
    }

    func testEnvironmentCarriesTheDeploymentAndUnsetsAbsentValues() throws {
        setenv("TURNOUT_TEST_URL", "http://stale.example", 1)
        setenv("TURNOUT_HOOK_TEST_INHERITED", "kept", 1)
        defer {
            unsetenv("TURNOUT_TEST_URL")
            unsetenv("TURNOUT_HOOK_TEST_INHERITED")
        }
        // Only the variables looked at: the whole environment may be longer than the output tail.
        let printEnvironment = shellHook("env | grep -E '^(TURNOUT_|PATH=)'")
        let withTest = harness.run(printEnvironment)
        let variables = try environment(withTest)
        XCTAssertEqual(variables["TURNOUT_DEPLOYMENT_ID"], "d-1")
        XCTAssertEqual(variables["TURNOUT_PHASE"], "BeforeAllowTraffic")
        XCTAssertEqual(variables["TURNOUT_LISTENER"], "production")
        XCTAssertEqual(variables["TURNOUT_PRODUCTION_URL"], "http://127.0.0.1:9090")
        XCTAssertEqual(variables["TURNOUT_TEST_LISTENER"], "test")
        XCTAssertEqual(variables["TURNOUT_TEST_URL"], "http://127.0.0.1:9091")
        XCTAssertEqual(variables["TURNOUT_TARGET_GROUP"], "green")
        XCTAssertEqual(variables["TURNOUT_LIVE_GROUP"], "blue")
        XCTAssertEqual(variables["TURNOUT_HOOK_TEST_INHERITED"], "kept")
        XCTAssertEqual(variables["PATH"], ProcessInfo.processInfo.environment["PATH"])

        let withoutTest = harness.run(printEnvironment, context: hookContext(testURL: nil))
        let unset = try environment(withoutTest)
        XCTAssertNil(unset["TURNOUT_TEST_URL"], "the process's own value must not leak through")
        XCTAssertNil(unset["TURNOUT_TEST_LISTENER"])
        XCTAssertEqual(unset["TURNOUT_DEPLOYMENT_ID"], "d-1")
    }

    func testOutputTailKeepsTheLastFourKilobytes() {
        let outcome = harness.run(shellHook("seq 1 3000"))
        let all = Array((1...3000).map { "\($0)\n" }.joined().utf8)
        XCTAssertEqual(outcome, .passed(outputTail: String(decoding: all.suffix(4096), as: UTF8.self)))
    }

    func testTimeoutKillsTheWholeGroupAndLeavesNoZombie() throws {
        // The shell and its child both ignore SIGTERM, so only the SIGKILL after the grace period ends them.
        let run = harness.start(shellHook("trap '' TERM; echo $$; sleep 30 & echo $!; wait", timeoutMilliseconds: 200))
        guard case .timedOut(let tail) = run.wait(seconds: 5) else {
            return XCTFail("expected a timeout, got \(String(describing: run.current))")
        }
        let pids = tail.split(separator: "\n").compactMap { pid_t($0) }
        XCTAssertEqual(pids.count, 2, tail)
        guard pids.count == 2 else { return }
        // The command itself was reaped: no /proc entry, not even a zombie.
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/proc/\(pids[0])"))
        // Its child was killed with it (reaped by whoever inherited it, or a zombie waiting for them).
        XCTAssertTrue(harness.waitUntil { !self.isRunning(pids[1]) })
        XCTAssertEqual(runningMembers(ofGroup: pids[0]), [], "nothing of the process group is left running")
        XCTAssertEqual(run.reportCount, 1)
        XCTAssertTrue(harness.waitUntil { self.harness.activeRuns == 0 })
    }

    func testTimeoutOfACommandThatStopsAtSIGTERM() {
        let run = harness.start(shellHook("echo started; exec sleep 30", timeoutMilliseconds: 100))
        XCTAssertEqual(run.wait(seconds: 5), .timedOut(outputTail: "started\n"))
    }

    func testCancelStopsTheCommandWithoutAnOutcome() throws {
        let pidFile = directory + "/pid"
        let run = harness.start(shellHook("echo $$ > \(pidFile); exec sleep 30"))
        XCTAssertTrue(harness.waitUntil { (try? String(contentsOfFile: pidFile, encoding: .utf8))?.hasSuffix("\n") == true })
        let pid = try XCTUnwrap(pid_t(String(contentsOfFile: pidFile, encoding: .utf8).dropLast()))
        harness.cancel(run)
        XCTAssertTrue(harness.waitUntil { self.harness.activeRuns == 0 })
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/proc/\(pid)"), "reaped")
        XCTAssertNil(run.current)
    }

    func testWhatTheCommandLeavesRunningKeepsItsOutputAndIsNotStopped() {
        // An `install` command that starts a server in the background and exits: the outcome comes at its exit,
        // and the background process can still write to the pipe (no SIGPIPE) and is not killed.
        let marker = directory + "/alive"
        let run = harness.start(shellHook("(sleep 0.2; echo late; touch \(marker)) & echo started"))
        XCTAssertEqual(run.wait(seconds: 5), .passed(outputTail: "started\n"))
        harness.cancel(run)  // after the outcome: nothing happens
        XCTAssertTrue(harness.waitUntil { FileManager.default.fileExists(atPath: marker) })
        XCTAssertTrue(harness.waitUntil { self.harness.activeRuns == 0 }, "the run ends when the pipe's last writer closes it")
    }

    func testOutputTailDropsACharacterCutInTwo() {
        var tail = OutputTail(capacity: 4)
        tail.append(ArraySlice(Array("aé".utf8)))
        XCTAssertEqual(tail.text, "aé")
        var cut = OutputTail(capacity: 4)
        // "éabc" is 5 bytes; the last 4 start inside "é".
        cut.append(ArraySlice(Array("éabc".utf8)))
        XCTAssertEqual(cut.text, "abc")
        cut.append(ArraySlice(Array("xyz€".utf8)))
        XCTAssertEqual(cut.text, "z€")
    }

    /// The `env` output of a passed run, by name.
    private func environment(_ outcome: HookOutcome?) throws -> [String: String] {
        guard case .passed(let output) = outcome else {
            XCTFail("expected a pass, got \(String(describing: outcome))")
            return [:]
        }
        var variables: [String: String] = [:]
        for line in output.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            variables[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return variables
    }

    /// Whether `pid` exists and is not a zombie.
    private func isRunning(_ pid: pid_t) -> Bool {
        guard let fields = statFields(pid) else { return false }
        return fields[0] != "Z"
    }

    /// The processes of group `pgid` that are not zombies.
    private func runningMembers(ofGroup pgid: pid_t) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { pid_t($0) }.filter { pid in
            guard let fields = statFields(pid) else { return false }
            return fields[2] == "\(pgid)" && fields[0] != "Z"
        }
    }

    /// `/proc/<pid>/stat` after the command name: state, ppid, pgrp, ...
    private func statFields(_ pid: pid_t) -> [Substring]? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 3 ? fields : nil
    }
}
