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

    /// Copies what `wire` holds through `transfer` (one move pass per call, as the worker does
    /// between reads) and returns what came out.
    private func copy(_ wire: String, through transfer: inout BodyTransfer) -> String {
        let source = IOBuffer(capacity: max(wire.utf8.count, 1))
        Array(wire.utf8).withUnsafeBytes { source.append($0) }
        let destination = IOBuffer(capacity: 4096)
        var cursor = 0
        while transfer.move(from: source, cursor: &cursor, to: destination) == .progressed && !transfer.isDone {}
        XCTAssertEqual(cursor, source.writeIndex, "every buffered byte is consumed")
        return String(decoding: destination.pending, as: UTF8.self)
    }

    func testChunkSpliceSpanIsWhatIsLeftOfTheChunkAndFramingResumesAfterIt() {
        var transfer = BodyTransfer(framing: .chunked)
        XCTAssertEqual(transfer.spliceSpan, .none)
        // A 655,360-byte chunk whose first 10 bytes were read with its size line.
        XCTAssertEqual(copy("a0000;ext=1\r\n0123456789", through: &transfer), "a0000\r\n0123456789")
        XCTAssertEqual(transfer.spliceSpan, .bytes(655_350))
        transfer.recordSpliced(300_000)
        XCTAssertEqual(transfer.spliceSpan, .bytes(355_350))
        transfer.recordSpliced(355_350)
        XCTAssertEqual(transfer.spliceSpan, .none)
        XCTAssertFalse(transfer.isDone)
        // The CRLF after the spliced data and the next chunks are decoded and re-framed again.
        XCTAssertEqual(copy("\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n", through: &transfer), "\r\n3\r\nabc\r\n0\r\n\r\n")
        XCTAssertTrue(transfer.isDone)
        XCTAssertEqual(transfer.spliceSpan, .none)
    }

    func testSplicedChunkUnwrappedForHTTP10GetsNoFraming() {
        var transfer = BodyTransfer(framing: .chunked, reframeChunked: false)
        XCTAssertEqual(copy("10000\r\nab", through: &transfer), "ab")
        XCTAssertEqual(transfer.spliceSpan, .bytes(65_534))
        transfer.recordSpliced(65_534)
        XCTAssertEqual(copy("\r\n1\r\nz\r\n0\r\n\r\n", through: &transfer), "z")
        XCTAssertTrue(transfer.isDone)
    }

    func testContentLengthSpliceSpanStaysOpenAtZeroUntilTheCallerEndsIt() {
        var transfer = BodyTransfer(framing: .contentLength(100_000))
        XCTAssertEqual(transfer.spliceSpan, .bytes(100_000))
        transfer.recordSpliced(99_999)
        XCTAssertEqual(transfer.spliceSpan, .bytes(1))
        transfer.recordSpliced(1)
        XCTAssertEqual(transfer.spliceSpan, .bytes(0))
        // The pipe may still hold bytes: only the caller knows when the body is through.
        XCTAssertFalse(transfer.isDone)
    }

    func testUntilCloseSpliceSpanHasNoEnd() {
        var transfer = BodyTransfer(framing: .untilClose)
        XCTAssertEqual(transfer.spliceSpan, .untilClose)
        transfer.recordSpliced(1 << 40)
        XCTAssertEqual(transfer.spliceSpan, .untilClose)
        XCTAssertEqual(BodyTransfer(framing: .none).spliceSpan, .none)
    }
}
