import XCTest
@testable import TurnoutProxy
import TurnoutHTTP1

/// The body state machine without sockets: bytes in one buffer, re-framed bytes out.
final class BodyTransferTests: XCTestCase {
    private func run(_ transfer: inout BodyTransfer, input: [UInt8], outputCapacity: Int = 4096, feed: Int = .max)
        -> (output: [UInt8], outcome: BodyTransfer.Outcome)
    {
        let source = IOBuffer(capacity: max(input.count, 1))
        let destination = IOBuffer(capacity: outputCapacity)
        var produced: [UInt8] = []
        var outcome = BodyTransfer.Outcome.stalled
        var offset = 0
        var cursor = 0
        repeat {
            let n = min(feed, input.count - offset)
            input[offset..<offset + n].withUnsafeBytes { source.append($0) }
            offset += n
            repeat {
                outcome = transfer.move(from: source, cursor: &cursor, to: destination)
                produced += Array(destination.pending)
                destination.reset()
            } while outcome == .progressed && !transfer.isDone
            if case .malformed = outcome { break }
        } while offset < input.count && !transfer.isDone
        return (produced, outcome)
    }

    func testContentLengthStopsAtTheLength() {
        var transfer = BodyTransfer(framing: .contentLength(5))
        let result = run(&transfer, input: Array("helloEXTRA".utf8))
        XCTAssertEqual(String(decoding: result.output, as: UTF8.self), "hello")
        XCTAssertTrue(transfer.isDone)
    }

    func testChunkedIsReframedWithoutExtensionsOrTrailers() {
        let wire = "5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n"
        for feed in [1, 3, wire.utf8.count] {
            var transfer = BodyTransfer(framing: .chunked)
            let result = run(&transfer, input: Array(wire.utf8), feed: feed)
            XCTAssertEqual(String(decoding: result.output, as: UTF8.self), "5\r\nhello\r\na\r\n0123456789\r\n0\r\n\r\n", "feed \(feed)")
            XCTAssertTrue(transfer.isDone, "feed \(feed)")
        }
    }

    func testChunkedUnwrappedForHTTP10() {
        var transfer = BodyTransfer(framing: .chunked, reframeChunked: false)
        let result = run(&transfer, input: Array("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n".utf8))
        XCTAssertEqual(String(decoding: result.output, as: UTF8.self), "abcde")
        XCTAssertTrue(transfer.isDone)
    }

    func testInvalidChunkSizeIsMalformed() {
        var transfer = BodyTransfer(framing: .chunked)
        let result = run(&transfer, input: Array("zz\r\nhello\r\n".utf8))
        guard case .malformed(let error) = result.outcome else { return XCTFail("expected malformed, got \(result.outcome)") }
        XCTAssertEqual(error.status, 400)
    }

    func testSmallOutputBufferApplyBackPressure() {
        var transfer = BodyTransfer(framing: .contentLength(100))
        let source = IOBuffer(capacity: 100)
        Array(repeating: UInt8(7), count: 100).withUnsafeBytes { source.append($0) }
        let destination = IOBuffer(capacity: 40)
        var cursor = 0
        XCTAssertEqual(transfer.move(from: source, cursor: &cursor, to: destination), .progressed)
        XCTAssertEqual(destination.pendingCount, 40)
        XCTAssertEqual(transfer.move(from: source, cursor: &cursor, to: destination), .stalled)
        destination.reset()
        XCTAssertEqual(transfer.move(from: source, cursor: &cursor, to: destination), .progressed)
        XCTAssertEqual(cursor, 80)
    }
}
