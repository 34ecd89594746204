/// Scans that look at eight bytes per step, for the long runs of ordinary bytes in a head: each step tests a whole
/// word for the bytes that end the run and only the word holding one is looked at byte by byte (by its position,
/// not by a second loop). Heads are scanned on every request and response; a byte-at-a-time loop spent more
/// instructions there than anything else on the request path.
///
/// The tests set a byte's high bit in a mask (the classic "has a zero byte" trick: `(x - 0x01…01) & ~x & 0x80…80`).
/// A byte above a flagged one may be flagged by the borrow as well, but never a byte below the first true match, so
/// the lowest flagged byte is exact, and so is the lowest flagged byte of two such masks OR'ed together.
enum WordScan {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// Bytes of `word` below `limit` (at most 0x80), each flagged by its high bit.
    @inline(__always)
    private static func bytes(of word: UInt64, below limit: UInt8) -> UInt64 {
        (word &- ones &* UInt64(limit)) & ~word & highBits
    }

    /// Bytes of `word` equal to `byte`, each flagged by its high bit.
    @inline(__always)
    private static func bytes(of word: UInt64, equalTo byte: UInt8) -> UInt64 {
        bytes(of: word ^ (ones &* UInt64(byte)), below: 1)
    }

    /// The offset of the lowest flagged byte of a non-zero mask.
    @inline(__always)
    private static func firstFlagged(_ mask: UInt64) -> Int {
        mask.trailingZeroBitCount &>> 3
    }

    @inline(__always)
    private static func word(_ bytes: UnsafeRawBufferPointer, at index: Int) -> UInt64 {
        UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self))
    }

    /// The index of the first CR or LF in `bytes[start..<end]`, or `end` if there is none.
    @inline(__always)
    static func firstLineBreak(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int {
        var index = start
        while index &+ 8 <= end {
            let word = word(bytes, at: index)
            let found = Self.bytes(of: word, equalTo: ASCII.cr) | Self.bytes(of: word, equalTo: ASCII.lf)
            if found != 0 { return index &+ firstFlagged(found) }
            index &+= 8
        }
        while index < end {
            let byte = bytes[index]
            if byte == ASCII.cr || byte == ASCII.lf { return index }
            index &+= 1
        }
        return end
    }

    /// The index of the first control byte (below 0x20, HTAB included, or DEL) in `bytes[start..<end]`, or `end` if
    /// there is none: where a field value or reason phrase ends, at its CR, or has a byte to look at.
    @inline(__always)
    static func firstControl(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int {
        var index = start
        while index &+ 8 <= end {
            let word = word(bytes, at: index)
            let found = Self.bytes(of: word, below: 0x20) | Self.bytes(of: word, equalTo: 0x7F)
            if found != 0 { return index &+ firstFlagged(found) }
            index &+= 8
        }
        while index < end {
            let byte = bytes[index]
            if byte < 0x20 || byte == 0x7F { return index }
            index &+= 1
        }
        return end
    }
}
