import Glibc
import XCTest
@testable import TurnoutProxy

/// A tunnel's transitions without sockets: the upgrade, bytes both ways, each side's end passed on, splicing,
/// the idle timeout and failures.
final class ClientStateMachineTunnelTests: XCTestCase {
    typealias H = MachineHarness
    private let upgradeRequest = "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n"
    private let switching = "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n"
    /// The 101 head as the client gets it.
    private let relayedSwitching = "HTTP/1.1 101 Switching Protocols\r\nVia: 1.1 turnout\r\nConnection: upgrade\r\n"
        + "Upgrade: websocket\r\n\r\n"

    /// Upgrades the connection; `early`: bytes the upstream sent right after its 101 head.
    private func upgrade(_ h: H, early: String = "", file: StaticString = #filePath, line: UInt = #line) {
        h.clientReadable()
        h.clientSends(upgradeRequest, file: file, line: line)
        h.route(to: H.target(), file: file, line: line)
        XCTAssertTrue(h.upstreamTakes(file: file, line: line).hasPrefix("GET /ws HTTP/1.1\r\n"), file: file, line: line)
        h.upstreamReadable()
        h.upstreamSends(switching + early, file: file, line: line)
        XCTAssertEqual(h.summary, "upgraded(101)", "the exchange ends; its response is counted", file: file, line: line)
        XCTAssertEqual(h.state, "tunnel", file: file, line: line)
        XCTAssertEqual(h.machine.deadline, h.now + H.clientIdleTimeout, "a tunnel has the idle limit", file: file, line: line)
        h.proceed(file: file, line: line)
    }

    func testUpgradeRelaysTheHeadAndTheBytesBehindItThenBothWays() {
        let h = H()
        upgrade(h, early: "hello")
        XCTAssertEqual(h.clientTakes(), relayedSwitching + "hello", "what came after the 101 head follows it")
        XCTAssertEqual(h.summary, "wait")
        h.clientReadable()
        h.clientSends("ping")
        XCTAssertEqual(h.upstreamTakes(), "ping", "bytes go up unchanged")
        XCTAssertEqual(h.summary, "wait")
        h.upstreamReadable()
        h.upstreamSends("pong")
        XCTAssertEqual(h.clientTakes(), "pong", "and come down unchanged")
        XCTAssertEqual(h.summary, "wait")
    }

    func testEachSidesEndIsPassedOnAndTheTunnelClosesWhenBothAre() {
        let h = H()
        upgrade(h)
        h.clientTakes()
        h.clientReadable()
        h.clientRead(.endOfFile)
        XCTAssertEqual(h.summary, "shutdownUpstreamOutput", "the client's end goes up as a write shutdown")
        h.proceed()
        XCTAssertEqual(h.summary, "wait", "the upstream may still answer")
        h.upstreamReadable()
        h.upstreamSends("last words")
        XCTAssertEqual(h.clientTakes(), "last words")
        h.upstreamReadable()
        h.upstreamRead(.endOfFile)
        XCTAssertEqual(h.summary, "shutdownClientOutput")
        h.proceed()
        XCTAssertEqual(h.summary, "close(abort: false)")
    }

    func testBytesTheDestinationCannotTakeYetWaitForIt() {
        let h = H()
        upgrade(h)
        h.clientTakes()
        h.upstreams[0].writable = false
        h.clientReadable()
        h.clientSends("ping")
        XCTAssertEqual(h.summary, "wait", "the upstream is not writable: the bytes stay buffered")
        h.upstreams[0].writable = true
        h.next()
        XCTAssertEqual(h.upstreamTakes(), "ping")
    }

    func testIdleTunnelClosesAtItsDeadlineAndTrafficPostponesIt() {
        let h = H()
        upgrade(h)
        h.advance(by: 1_000)
        h.clientTakes()
        XCTAssertEqual(h.machine.deadline, h.now + H.clientIdleTimeout, "traffic renews the limit")
        h.advance(by: H.clientIdleTimeout)
        h.timeOut()
        XCTAssertEqual(h.summary, "close(abort: false)")
    }

    func testFailedReadOrWriteResetsTheTunnel() {
        let h = H()
        upgrade(h)
        h.clientTakes()
        h.upstreamReadable()
        h.upstreamRead(.failed(ECONNRESET))
        XCTAssertEqual(h.summary, "close(abort: true)")

        let written = H()
        upgrade(written)
        written.clientWrite(.failed(EPIPE))
        XCTAssertEqual(written.summary, "close(abort: true)")
    }

    func testTunnelDirectionsSpliceAndAnEndReleasesTheRelay() {
        let h = H(spliceEnabled: true)
        upgrade(h)
        XCTAssertEqual(h.summary, "takeRelay(tunnelUpward)", "nothing is buffered upward: it takes a pipe")
        let upward = h.relay()
        h.giveRelay(upward)
        XCTAssertEqual(h.summary, "splice(tunnelUpward, limit: nil)")
        h.spliced(.stalled, remaining: nil)
        XCTAssertEqual(h.clientTakes(), relayedSwitching, "the 101 head is in the client's buffer: downward copies first")
        XCTAssertEqual(h.summary, "splice(tunnelUpward, limit: nil)")
        h.spliced(.stalled, remaining: nil)
        XCTAssertEqual(h.summary, "takeRelay(tunnelDownward)")
        let downward = h.relay()
        h.giveRelay(downward)
        XCTAssertEqual(h.summary, "splice(tunnelDownward, limit: nil)")
        h.spliced(.sourceEnded, remaining: nil)
        XCTAssertEqual(h.summary, "releaseRelay", "the upstream's end drained the pipe")
        h.proceed()
        XCTAssertTrue(h.lastReleased.relays.first === downward)
        XCTAssertEqual(h.summary, "shutdownClientOutput", "then the end is passed on")
        let released = h.machine.close(h.env)
        XCTAssertTrue(released.relays.first === upward, "closing hands over the relay still in use")
    }

    func testSpliceFailureResetsTheTunnel() {
        let h = H(spliceEnabled: true)
        upgrade(h)
        h.giveRelay(h.relay())
        h.spliced(.destinationFailed(EPIPE), remaining: nil)
        XCTAssertEqual(h.summary, "close(abort: true)")
    }
}
