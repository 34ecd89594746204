import XCTest

@testable import TurnoutHTTP1

/// The word-at-a-time scans against a byte-at-a-time reading of the same bytes: every byte value at every offset
/// of a word, with ordinary bytes around it, and more than one match in a word.
final class WordScanTests: XCTestCase {
    private func naiveFirst(_ bytes: [UInt8], from start: Int, to end: Int, where matches: (UInt8) -> Bool) -> Int {
        var index = start
        while index < end && !matches(bytes[index]) { index += 1 }
        return index
    }

    private func check(_ bytes: [UInt8], from start: Int, to end: Int, file: StaticString = #filePath, line: UInt = #line) {
        bytes.withUnsafeBytes { raw in
            XCTAssertEqual(WordScan.firstLineBreak(raw, from: start, to: end),
                           naiveFirst(bytes, from: start, to: end) { $0 == 0x0D || $0 == 0x0A },
                           "line break in \(bytes) from \(start) to \(end)", file: file, line: line)
            XCTAssertEqual(WordScan.firstControl(raw, from: start, to: end),
                           naiveFirst(bytes, from: start, to: end) { $0 < 0x20 || $0 == 0x7F },
                           "control in \(bytes) from \(start) to \(end)", file: file, line: line)
        }
    }

    func testEveryByteValueAtEveryOffset() {
        for filler: UInt8 in [UInt8(ascii: "a"), 0x20, 0x7E, 0x80, 0xFF, 0x21] {
            for value in 0...255 {
                for offset in 0..<19 {
                    var bytes = [UInt8](repeating: filler, count: 24)
                    bytes[offset] = UInt8(value)
                    check(bytes, from: 0, to: bytes.count)
                    check(bytes, from: 1, to: 20)
                    check(bytes, from: 3, to: 11)
                }
            }
        }
    }

    func testTheFirstOfSeveralMatchesInOneWord() {
        // A borrow from a matching byte can flag a byte above it; the scans must still name the lowest.
        let cases: [[UInt8]] = [
            [0x61, 0x61, 0x0D, 0x0E, 0x0A, 0x0D, 0x61, 0x61, 0x61],
            [0x00, 0x01, 0x0D, 0x0A, 0x7F, 0x1F, 0x20, 0x21, 0x61],
            [0x61, 0x20, 0x09, 0x0D, 0x0A, 0x61, 0x61, 0x61, 0x61],
            [0x61, 0x61, 0x61, 0x61, 0x61, 0x61, 0x61, 0x7F, 0x00],
            [0x0E, 0x0B, 0x0C, 0x0D, 0x0A, 0x09, 0x0B, 0x0C, 0x0D],
        ]
        for bytes in cases {
            for start in 0..<bytes.count {
                check(bytes, from: start, to: bytes.count)
            }
        }
    }

    func testRandomRuns() {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = Array(0x20...0x7E) + [0x09, 0x0D, 0x0A, 0x00, 0x7F, 0x80, 0xC3, 0xFF, 0x1F]
        for _ in 0..<5_000 {
            let count = Int.random(in: 0...40, using: &generator)
            let bytes = (0..<count).map { _ in
                Bool.random(using: &generator) ? UInt8(ascii: "x") : alphabet.randomElement(using: &generator)!
            }
            let start = count == 0 ? 0 : Int.random(in: 0...count, using: &generator)
            check(bytes, from: start, to: count)
        }
    }

    func testTokenBitsAreTheRFCList() {
        let tchar = Set(Array("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8))
        for value in 0...255 {
            XCTAssertEqual(ASCII.isToken(UInt8(value)), tchar.contains(UInt8(value)), "byte \(value)")
        }
    }
}
