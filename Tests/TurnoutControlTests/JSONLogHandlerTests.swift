import Glibc
import Logging
import TurnoutPosix
import XCTest
@testable import TurnoutControl

/// `JSONLogHandler`: the exact bytes of a line, and lines written whole, one `write(2)` each, whatever the threads.
final class JSONLogHandlerTests: XCTestCase {
    /// 2026-11-18T11:06:40.123Z
    private static let milliseconds: UInt64 = 1_795_000_000_123

    private func line(_ message: String, level: Logger.Level = .notice, label: String = "turnout",
                      metadata: Logger.Metadata = [:]) -> String {
        String(decoding: JSONLogHandler.line(milliseconds: Self.milliseconds, level: level, label: label,
                                             source: "TurnoutControl", message: message, metadata: metadata),
               as: UTF8.self)
    }

    func testTheFixedFieldsComeFirstThenTheMetadataSortedByKey() {
        XCTAssertEqual(line("listener production on 127.0.0.1:8080"),
                       #"{"timestamp":"2026-11-18T11:06:40.123Z","level":"notice","logger":"turnout","source":"TurnoutControl","#
                           + #""message":"listener production on 127.0.0.1:8080"}"# + "\n")
        XCTAssertEqual(line("upstream connect failed", level: .info,
                            metadata: ["worker": .stringConvertible(1), "target": "127.0.0.1:3000", "errno": .stringConvertible(Int32(111))]),
                       #"{"timestamp":"2026-11-18T11:06:40.123Z","level":"info","logger":"turnout","source":"TurnoutControl","#
                           + #""message":"upstream connect failed","errno":111,"target":"127.0.0.1:3000","worker":1}"# + "\n")
    }

    func testTheTimestampIsUTCWithMillisecondsAndEveryLevelHasItsName() {
        let start = String(decoding: JSONLogHandler.line(milliseconds: 0, level: .trace, label: "l", source: "s",
                                                         message: "", metadata: [:]), as: UTF8.self)
        XCTAssertEqual(start, #"{"timestamp":"1970-01-01T00:00:00.000Z","level":"trace","logger":"l","source":"s","message":""}"# + "\n")
        for level in Logger.Level.allCases {
            XCTAssertTrue(line("m", level: level).contains(#","level":"\#(level.rawValue)","#), "\(level)")
        }
    }

    func testNewlinesQuotesControlCharactersAndUnicodeAreEscapedOnOneLine() {
        let awkward = "two\nlines\r\n\ttabbed \"quoted\" back\\slash /path bell\u{07} nul\u{00} del\u{7F} é 🚦 \u{2028}"
        let written = line(awkward, label: "turnout.\"health\"\n", metadata: ["key\nwith \"quotes\"": .string(awkward)])
        let escaped = #"two\nlines\r\n\ttabbed \"quoted\" back\\slash /path bell\u0007 nul\u0000 del\#u{7F} é 🚦 \#u{2028}"#
        XCTAssertEqual(written,
                       #"{"timestamp":"2026-11-18T11:06:40.123Z","level":"notice","logger":"turnout.\"health\"\n","#
                           + #""source":"TurnoutControl","message":"\#(escaped)","key\nwith \"quotes\"":"\#(escaped)"}"# + "\n")
        // One line: the only newline byte ends it, and what is before it is a JSON object whose message is the text.
        XCTAssertEqual(written.utf8.filter { $0 == 0x0A }.count, 1)
        let parsed = try? JSONReader.parse(Array(written.utf8.dropLast()))
        XCTAssertEqual(parsed?["message"], .string(awkward))
        XCTAssertEqual(parsed?["key\nwith \"quotes\""], .string(awkward))
    }

    func testMetadataIsTypedWhereTheValueIsAndAStringOtherwise() {
        struct Colour: CustomStringConvertible, Sendable { var description: String { "blue" } }
        let written = line("m", metadata: [
            "int": .stringConvertible(-7), "uint16": .stringConvertible(UInt16(503)),
            "uint64_max": .stringConvertible(UInt64.max), "double": .stringConvertible(0.25),
            "whole_double": .stringConvertible(2.0), "nan": .stringConvertible(Double.nan),
            "flag": .stringConvertible(true), "custom": .stringConvertible(Colour()), "text": "42",
            "nested": ["list": [.stringConvertible(1), "two", [:]], "empty": []],
        ])
        XCTAssertEqual(written,
                       #"{"timestamp":"2026-11-18T11:06:40.123Z","level":"notice","logger":"turnout","source":"TurnoutControl","#
                           + #""message":"m","custom":"blue","double":0.25,"flag":true,"int":-7,"nan":"nan","#
                           + #""nested":{"empty":[],"list":[1,"two",{}]},"text":"42","uint16":503,"#
                           + #""uint64_max":"18446744073709551615","whole_double":2}"# + "\n")
    }

    func testAMetadataKeyNamedLikeAFixedFieldIsPrefixedSoNoKeyAppearsTwice() throws {
        let written = line("the message", metadata: ["message": "shadow", "level": "x", "timestamp": "y", "logger": "z",
                                                     "source": "w", "metadata.message": "already prefixed"])
        XCTAssertEqual(written,
                       #"{"timestamp":"2026-11-18T11:06:40.123Z","level":"notice","logger":"turnout","source":"TurnoutControl","#
                           + #""message":"the message","metadata.level":"x","metadata.logger":"z","metadata.message":"shadow","#
                           + #""metadata.metadata.message":"already prefixed","metadata.source":"w","metadata.timestamp":"y"}"# + "\n")
    }

    // MARK: - through a Logger, onto a descriptor

    func testALoggerWritesTheHandlersMetadataTheStatementsAndTheErrorAtItsLevel() throws {
        let lines = try capturingLines { output in
            var logger = Logger(label: "turnout") { label in
                JSONLogHandler(label: label, output: output, clock: { Self.milliseconds })
            }
            logger.logLevel = .notice
            logger[metadataKey: "worker"] = .stringConvertible(0)
            logger.info("below the level: not written")
            logger.warning("first", metadata: ["worker": .stringConvertible(3), "target": "127.0.0.1:3000"])
            logger.error("second", error: LogTestRefusal())
        }
        XCTAssertEqual(lines, [
            #"{"timestamp":"2026-11-18T11:06:40.123Z","level":"warning","logger":"turnout","source":"TurnoutControlTests","#
                + #""message":"first","target":"127.0.0.1:3000","worker":3}"#,
            #"{"timestamp":"2026-11-18T11:06:40.123Z","level":"error","logger":"turnout","source":"TurnoutControlTests","#
                + #""message":"second","error.message":"no \"space\"","#
                + #""error.type":"TurnoutControlTests.LogTestRefusal","worker":0}"#,
        ].map { $0 + "\n" })
    }

    /// A `SOCK_SEQPACKET` socket keeps each `write(2)` a message of its own: every message read is one whole line.
    func testEachLineIsOneWriteWholeWhateverTheThreads() throws {
        var fds: [Int32] = [-1, -1]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds), 0)
        defer { fds.forEach(FileIO.close) }
        let output = LogLineOutput(fd: fds[0])
        let threads = 4, linesEach = 50
        let messages = MessagesRead()
        let reader = try PosixThread(name: "test-reader") { [readEnd = fds[1]] in
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            for _ in 0..<(threads * linesEach) {
                let n = buffer.withUnsafeMutableBytes { Glibc.read(readEnd, $0.baseAddress, $0.count) }
                if n <= 0 { return }
                messages.append(Array(buffer[0..<n]))
            }
        }
        let writers = try (0..<threads).map { thread in
            try PosixThread(name: "test-writer-\(thread)") {
                let logger = Logger(label: "turnout") { JSONLogHandler(label: $0, output: output) }
                for index in 0..<linesEach {
                    logger.info("\(String(repeating: "x", count: 2000)) line \(index)\nof thread \(thread)",
                                metadata: ["thread": .stringConvertible(thread)])
                }
            }
        }
        writers.forEach { $0.join() }
        reader.join()
        XCTAssertEqual(messages.all.count, threads * linesEach)
        var seen: [Int64: Int] = [:]
        for message in messages.all {
            XCTAssertEqual(message.last, 0x0A)
            XCTAssertEqual(message.filter { $0 == 0x0A }.count, 1)
            let object = try JSONReader.parse(Array(message.dropLast()))
            let thread = try XCTUnwrap(object["thread"]?.intValue)
            XCTAssertEqual(object["message"]?.stringValue?.hasSuffix(" line \(seen[thread, default: 0])\nof thread \(thread)"), true)
            seen[thread, default: 0] += 1
        }
        XCTAssertEqual(seen, Dictionary(uniqueKeysWithValues: (0..<threads).map { (Int64($0), linesEach) }))
    }

    /// Lines longer than the pipe itself (64 KiB), from several threads at once: the kernel writes each in parts as
    /// the reader drains the pipe, and no other line may come between them.
    func testLongLinesFromSeveralThreadsNeverInterleaveInAPipe() throws {
        var fds: [Int32] = [-1, -1]
        XCTAssertEqual(Glibc.pipe(&fds), 0)
        let output = LogLineOutput(fd: fds[1])
        let captured = MessagesRead()
        let reader = try PosixThread(name: "test-reader") { [readEnd = fds[0]] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = buffer.withUnsafeMutableBytes { Glibc.read(readEnd, $0.baseAddress, $0.count) }
                if n <= 0 { return }
                captured.append(Array(buffer[0..<n]))
            }
        }
        let threads = 4, linesEach = 8, length = 70_000
        let writers = try (0..<threads).map { thread in
            try PosixThread(name: "test-writer-\(thread)") {
                let logger = Logger(label: "turnout") { JSONLogHandler(label: $0, output: output) }
                let message = String(repeating: String(thread), count: length)
                for _ in 0..<linesEach { logger.info("\(message)") }
            }
        }
        writers.forEach { $0.join() }
        FileIO.close(fds[1])
        reader.join()
        FileIO.close(fds[0])
        let lines = captured.all.joined().split(separator: 0x0A)
        XCTAssertEqual(lines.count, threads * linesEach)
        for line in lines {
            let message = try XCTUnwrap(JSONReader.parse(Array(line))["message"]?.stringValue)
            XCTAssertEqual(message.utf8.count, length)
            XCTAssertTrue(message.utf8.allSatisfy { $0 == message.utf8.first }, "a line holds another's bytes")
        }
    }

    /// Every line `body` logs to a pipe, as text.
    private func capturingLines(_ body: (LogLineOutput) -> Void) throws -> [String] {
        var fds: [Int32] = [-1, -1]
        XCTAssertEqual(Glibc.pipe(&fds), 0)
        body(LogLineOutput(fd: fds[1]))
        FileIO.close(fds[1])
        defer { FileIO.close(fds[0]) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fds[0], $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        return bytes.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) + "\n" }
    }
}

/// An error whose description needs escaping.
struct LogTestRefusal: Error, CustomStringConvertible {
    var description: String { "no \"space\"" }
}

/// What a reader thread read, taken by the test after joining it.
private final class MessagesRead: @unchecked Sendable {
    private(set) var all: [[UInt8]] = []
    func append(_ message: [UInt8]) { all.append(message) }
}
