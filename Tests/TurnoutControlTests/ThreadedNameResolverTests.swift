import Foundation
import TurnoutControl
import TurnoutCore
import TurnoutPosix
import XCTest

/// The real resolver: `getaddrinfo` on a thread of its own, the answer handed to the control loop. Names the
/// machine resolves from `/etc/hosts` only, so no DNS server is involved (the integration tests run one).
final class ThreadedNameResolverTests: XCTestCase {
    func testLooksUpOffTheLoopAndAnswersOnIt() throws {
        let run = try LoopRun()
        let answers = Answers()
        for name in [HostPort(host: "localhost", port: 8080), HostPort(host: "127.0.0.1", port: 81)] {
            run.resolver.lookUp(name) { answer in
                if answers.append(name, answer) == 2 { run.loop.stop() }
            }
        }
        XCTAssertEqual(answers.count, 0, "never answered from within lookUp")
        try run.runUntilStopped()

        let localhost = try XCTUnwrap(answers.answer(for: HostPort(host: "localhost", port: 8080)))
        guard case .addresses(let found) = localhost else { return XCTFail("localhost did not resolve: \(localhost)") }
        XCTAssertTrue(found.contains(HostPort(host: "127.0.0.1", port: 8080)), "\(found)")
        XCTAssertTrue(found.allSatisfy { $0.isAddress && $0.port == 8080 }, "\(found)")
        XCTAssertEqual(answers.answer(for: HostPort(host: "127.0.0.1", port: 81)), .addresses([HostPort(host: "127.0.0.1", port: 81)]))
    }
}

/// A control loop and a resolver on it; the loop runs on a thread of its own until something stops it.
private final class LoopRun: @unchecked Sendable {
    // @unchecked: `resolver` is used by the test thread only before the loop runs, then by the loop thread.
    let loop: ControlLoop
    let resolver: ThreadedNameResolver

    init() throws {
        loop = try ControlLoop()
        resolver = ThreadedNameResolver(loop: loop)
    }

    func runUntilStopped() throws {
        let thread = try PosixThread(name: "names-loop") { [self] in loop.run() }
        thread.join()
    }
}

/// Answers by name, written on the loop thread and read by the test thread (an `NSLock`, which ThreadSanitizer sees).
private final class Answers: @unchecked Sendable {
    private let lock = NSLock()
    private var answers: [(HostPort, NameAnswer)] = []

    /// Records one answer; returns how many there are now.
    func append(_ name: HostPort, _ answer: NameAnswer) -> Int {
        lock.withLock {
            answers.append((name, answer))
            return answers.count
        }
    }

    var count: Int { lock.withLock { answers.count } }

    func answer(for name: HostPort) -> NameAnswer? { lock.withLock { answers.first { $0.0 == name }?.1 } }
}
