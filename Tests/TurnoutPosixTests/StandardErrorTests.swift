import Glibc
import TurnoutPosix
import XCTest

final class StandardErrorTests: XCTestCase {
    /// Standard error pointed at a pipe while `body` runs; returns everything written to it.
    private func capturingStandardError(_ body: () -> Void) throws -> [UInt8] {
        var fds: [Int32] = [-1, -1]
        XCTAssertEqual(Glibc.pipe(&fds), 0)
        let saved = dup(STDERR_FILENO)
        let readEnd = fds[0]
        let captured = CapturedBytes()
        // A reader thread drains the pipe, so a write larger than the pipe's buffer completes.
        let reader = try PosixThread(name: "test-reader") {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = buffer.withUnsafeMutableBytes { Glibc.read(readEnd, $0.baseAddress, $0.count) }
                if n <= 0 { return }
                captured.append(buffer[0..<n])
            }
        }
        dup2(fds[1], STDERR_FILENO)
        FileIO.close(fds[1])
        body()
        dup2(saved, STDERR_FILENO)  // closes the pipe's last write end: the reader sees the end
        FileIO.close(saved)
        reader.join()
        FileIO.close(readEnd)
        return captured.bytes
    }

    func testWritesTheWholeTextToStandardError() throws {
        let text = String(repeating: "0123456789abcdef", count: 64 * 1024) + "end\n"  // 1 MiB, 16 pipe buffers
        let written = try capturingStandardError { FileIO.writeStandardError(text) }
        XCTAssertEqual(written.count, text.utf8.count)
        XCTAssertEqual(written, Array(text.utf8))
    }

    func testEmptyTextWritesNothing() throws {
        XCTAssertEqual(try capturingStandardError { FileIO.writeStandardError("") }, [])
    }
}

/// Bytes one thread appends and another reads after joining it.
private final class CapturedBytes: @unchecked Sendable {
    private(set) var bytes: [UInt8] = []
    func append(_ more: ArraySlice<UInt8>) { bytes += more }
}
