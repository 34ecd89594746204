import TurnoutHTTP1
import XCTest

final class ChunkedDecoderTests: XCTestCase {
    /// Data spans: 3..<7 "Wiki", 23..<28 "pedia", 33..<47 " in\r\n\r\nchunks."; the body ends at 70.
    private let body = [UInt8](
        ("4\r\nWiki\r\n5;name=value\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\n\r\nNEXT").utf8)

    /// What a caller sees when feeding a body that arrives `arrival` bytes at a time into a receive buffer.
    private struct Run {
        var steps: [ChunkedStep] = []
        var dataSpans: [Range<Int>] = []
        var endOffset: Int?
        var error: HeadError?

        /// Adjacent data spans joined, so runs with different arrival sizes compare equal.
        var mergedSpans: [Range<Int>] {
            dataSpans.reduce(into: []) { merged, span in
                if let last = merged.last, last.upperBound == span.lowerBound {
                    merged[merged.count - 1] = last.lowerBound..<span.upperBound
                } else {
                    merged.append(span)
                }
            }
        }
    }

    private func run(_ input: [UInt8], arrival: Int) -> Run {
        var decoder = ChunkedDecoder()
        var result = Run()
        var position = 0
        var received = min(arrival, input.count)
        for _ in 0..<(input.count * 4 + 10) {
            let step = input.withUnsafeBytes {
                decoder.decode(UnsafeRawBufferPointer(rebasing: $0[position..<received]))
            }
            result.steps.append(step)
            switch step {
            case .needMore(let consumed):
                position += consumed
                if received == input.count { return result }
                received = min(received + arrival, input.count)
            case .chunkStart(let consumed, _):
                position += consumed
            case .data(let count):
                result.dataSpans.append(position..<(position + count))
                position += count
                decoder.consumeData(count)
            case .end(let consumed):
                result.endOffset = position + consumed
                return result
            case .failed(let error):
                result.error = error
                return result
            }
        }
        XCTFail("decoder did not make progress")
        return result
    }

    private func bytes(_ text: String) -> [UInt8] { [UInt8](text.utf8) }

    /// The step a fresh decoder returns for `text` given at once.
    private func firstStep(_ text: String) -> ChunkedStep {
        var decoder = ChunkedDecoder()
        return bytes(text).withUnsafeBytes { decoder.decode($0) }
    }

    private func assertFails(
        _ text: String, _ reason: StaticString, file: StaticString = #filePath, line: UInt = #line
    ) {
        for arrival in [1, text.utf8.count] {
            let result = run(bytes(text), arrival: arrival)
            XCTAssertEqual(
                result.error, HeadError(status: 400, reason: reason), "arrival \(arrival)", file: file, line: line)
            XCTAssertNil(result.endOffset, file: file, line: line)
        }
    }

    func testWholeBodyAtOnceGivesExactSteps() {
        let result = run(body, arrival: body.count)
        XCTAssertEqual(
            result.steps,
            [
                .chunkStart(consumed: 3, size: 4), .data(count: 4),
                .chunkStart(consumed: 16, size: 5), .data(count: 5),
                .chunkStart(consumed: 5, size: 14), .data(count: 14),
                .end(consumed: 23),
            ])
        XCTAssertEqual(result.dataSpans, [3..<7, 23..<28, 33..<47])
        XCTAssertEqual(result.endOffset, 70)
        XCTAssertEqual(Array(body[70...]), bytes("NEXT"))
    }

    func testOneByteAtATimeGivesTheSameDataAndEnd() {
        let result = run(body, arrival: 1)
        XCTAssertEqual(result.mergedSpans, [3..<7, 23..<28, 33..<47])
        XCTAssertTrue(result.dataSpans.allSatisfy { $0.count == 1 })
        XCTAssertEqual(result.endOffset, 70)
        XCTAssertNil(result.error)
        let data = result.dataSpans.flatMap { body[$0] }
        XCTAssertEqual(String(decoding: data, as: UTF8.self), "Wiki" + "pedia" + " in\r\n\r\nchunks.")
    }

    func testEveryArrivalSizeGivesTheSameSpans() {
        for arrival in 1...body.count {
            let result = run(body, arrival: arrival)
            XCTAssertEqual(result.mergedSpans, [3..<7, 23..<28, 33..<47], "arrival \(arrival)")
            XCTAssertEqual(result.endOffset, 70, "arrival \(arrival)")
        }
    }

    func testTruncatedBodyNeedsMore() {
        let truncated = Array(body[0..<60])
        let result = run(truncated, arrival: truncated.count)
        XCTAssertEqual(result.steps.last, .needMore(consumed: 13))
        XCTAssertNil(result.endOffset)
    }

    func testDataIsBoundedByInputAndCanBeConsumedUnseen() {
        var decoder = ChunkedDecoder()
        let head = bytes("a\r\n0123")
        XCTAssertEqual(head.withUnsafeBytes { decoder.decode($0) }, .chunkStart(consumed: 3, size: 10))
        XCTAssertEqual(decoder.remainingInChunk, 10)
        XCTAssertEqual(
            head.withUnsafeBytes { decoder.decode(UnsafeRawBufferPointer(rebasing: $0[3...])) }, .data(count: 4))
        decoder.consumeData(4)
        XCTAssertEqual(decoder.remainingInChunk, 6)
        XCTAssertEqual([UInt8]().withUnsafeBytes { decoder.decode($0) }, .needMore(consumed: 0))
        // The rest is spliced by the caller without the decoder seeing it.
        decoder.consumeData(Int(decoder.remainingInChunk))
        XCTAssertEqual(decoder.remainingInChunk, 0)
        XCTAssertEqual(bytes("\r\n0\r\n\r\n").withUnsafeBytes { decoder.decode($0) }, .end(consumed: 7))
        XCTAssertTrue(decoder.isComplete)
        XCTAssertEqual(bytes("more").withUnsafeBytes { decoder.decode($0) }, .end(consumed: 0))
    }

    func testResetStartsANewBody() {
        var decoder = ChunkedDecoder()
        XCTAssertEqual(bytes("0\r\n\r\n").withUnsafeBytes { decoder.decode($0) }, .end(consumed: 5))
        decoder.reset()
        XCTAssertFalse(decoder.isComplete)
        XCTAssertEqual(bytes("1\r\n").withUnsafeBytes { decoder.decode($0) }, .chunkStart(consumed: 3, size: 1))
    }

    func testSizesAreHexWithExtensionsDropped() {
        XCTAssertEqual(firstStep("00A\r\n"), .chunkStart(consumed: 5, size: 10))
        XCTAssertEqual(firstStep("fF\r\nxyz"), .chunkStart(consumed: 4, size: 255))
        XCTAssertEqual(firstStep("5;a=b;c=\"d e\"\r\n"), .chunkStart(consumed: 15, size: 5))
        XCTAssertEqual(firstStep("5 \t;a\r\n"), .chunkStart(consumed: 7, size: 5))
        XCTAssertEqual(firstStep("7fffffffffffffff\r\n"), .chunkStart(consumed: 18, size: UInt64(Int64.max)))
        XCTAssertEqual(
            firstStep("00000000000000007fffffffffffffff\r\n"), .chunkStart(consumed: 34, size: UInt64(Int64.max)))
    }

    func testInvalidChunkSizes() {
        assertFails("\r\n", "invalid chunk size")
        assertFails(";ext\r\n", "invalid chunk size")
        assertFails("g\r\n", "invalid chunk size")
        assertFails("-1\r\n", "invalid chunk size")
        assertFails("+1\r\n", "invalid chunk size")
        assertFails(" 5\r\n", "invalid chunk size")
        assertFails("0x5\r\n", "invalid chunk size")
        assertFails("5 5\r\n", "invalid chunk size")
        assertFails("5 \r\n", "invalid chunk size")
        assertFails("8000000000000000\r\n", "chunk size too large")
        assertFails("10000000000000000\r\n", "chunk size too large")
        assertFails("ffffffffffffffffff\r\n", "chunk size too large")
    }

    func testLineEndingsAreStrict() {
        assertFails("5\nhello\r\n0\r\n\r\n", "bare LF in chunk size line")
        assertFails("5;x\nhello\r\n0\r\n\r\n", "bare LF in chunk size line")
        assertFails("5\rhello\r\n0\r\n\r\n", "bare CR in chunk size line")
        assertFails("5\r\nhelloXY0\r\n\r\n", "missing CRLF after chunk data")
        assertFails("5\r\nhello\rX0\r\n\r\n", "missing CRLF after chunk data")
        assertFails("5\r\nhello\n0\r\n\r\n", "missing CRLF after chunk data")
        assertFails("5;x\u{1}\r\nhello\r\n0\r\n\r\n", "invalid byte in chunk extension")
        assertFails("0\r\n\n", "invalid trailer line")
        assertFails("0\r\nX: 1\n\r\n", "invalid trailer line")
        assertFails("0\r\nX: 1\rY\r\n", "bare CR in trailer")
        assertFails("0\r\n\rX", "bare CR in trailer")
    }

    func testSizeLineLimit() {
        let atLimit = "1;" + String(repeating: "x", count: ChunkedDecoder.maxSizeLineBytes - 2) + "\r\n"
        XCTAssertEqual(firstStep(atLimit), .chunkStart(consumed: atLimit.utf8.count, size: 1))
        let byteByByte = run(bytes(atLimit), arrival: 1).steps
        XCTAssertEqual(byteByByte.count, atLimit.utf8.count + 1)
        XCTAssertEqual(byteByByte[byteByByte.count - 2], .chunkStart(consumed: 1, size: 1))
        assertFails(
            "1;" + String(repeating: "x", count: ChunkedDecoder.maxSizeLineBytes - 1) + "\r\n",
            "chunk size line too long")
    }

    func testTrailerSectionLimit() {
        // Trailer section = "X: " + value + CRLF + final CRLF.
        let atLimit = "0\r\nX: " + String(repeating: "v", count: ChunkedDecoder.maxTrailerBytes - 7) + "\r\n\r\n"
        XCTAssertEqual(run(bytes(atLimit), arrival: atLimit.utf8.count).endOffset, atLimit.utf8.count)
        assertFails(
            "0\r\nX: " + String(repeating: "v", count: ChunkedDecoder.maxTrailerBytes - 6) + "\r\n\r\n",
            "trailer section too large")
        assertFails(
            "0\r\nX: " + String(repeating: "v", count: ChunkedDecoder.maxTrailerBytes), "trailer section too large")
    }

    func testFailureIsSticky() {
        var decoder = ChunkedDecoder()
        let failure = ChunkedStep.failed(HeadError(status: 400, reason: "invalid chunk size"))
        XCTAssertEqual(bytes("z").withUnsafeBytes { decoder.decode($0) }, failure)
        XCTAssertEqual(bytes("5\r\n").withUnsafeBytes { decoder.decode($0) }, failure)
    }
}
