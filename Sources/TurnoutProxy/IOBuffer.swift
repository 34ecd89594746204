/// A fixed-capacity byte buffer with a read and a write index, owned by one
/// connection at a time and recycled through the worker's `BufferPool`.
///
/// Bytes in `readIndex..<writeIndex` are pending; `compact()` slides them to the
/// front when the tail runs out of room.
final class IOBuffer {
    let base: UnsafeMutableRawPointer
    let capacity: Int
    var readIndex = 0
    var writeIndex = 0

    init(capacity: Int) {
        self.capacity = capacity
        base = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit { base.deallocate() }

    @inline(__always) var pendingCount: Int { writeIndex - readIndex }
    @inline(__always) var isEmpty: Bool { writeIndex == readIndex }
    @inline(__always) var freeSpace: Int { capacity - writeIndex }

    /// The pending bytes.
    @inline(__always) var pending: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + readIndex, count: writeIndex - readIndex)
    }

    /// Bytes from `start` (an absolute index) to the write index.
    @inline(__always) func bytes(from start: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + start, count: writeIndex - start)
    }

    /// The free tail, where the next read or write lands.
    @inline(__always) var tail: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: base + writeIndex, count: capacity - writeIndex)
    }

    /// The free tail, or its first `limit` bytes.
    @inline(__always) func tail(upTo limit: Int) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: base + writeIndex, count: min(capacity - writeIndex, limit))
    }

    @inline(__always) func reset() {
        readIndex = 0
        writeIndex = 0
    }

    /// Marks `count` pending bytes as consumed; an emptied buffer rewinds to the front.
    @inline(__always) func consume(_ count: Int) {
        readIndex += count
        if readIndex == writeIndex { reset() }
    }

    /// Slides the pending bytes to the front; returns how far they moved so callers
    /// holding absolute indices can shift them.
    @discardableResult
    func compact() -> Int {
        let shift = readIndex
        guard shift > 0 else { return 0 }
        let count = writeIndex - readIndex
        if count > 0 { (base).copyMemory(from: base + readIndex, byteCount: count) }
        readIndex = 0
        writeIndex = count
        return shift
    }

    /// Appends bytes; the caller has checked `freeSpace`.
    @inline(__always) func append(_ bytes: UnsafeRawBufferPointer) {
        (base + writeIndex).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        writeIndex += bytes.count
    }

    @inline(__always) func append(_ string: StaticString) {
        append(UnsafeRawBufferPointer(start: string.utf8Start, count: string.utf8CodeUnitCount))
    }

    /// Appends `value` in lower-case hexadecimal (chunk sizes).
    func appendHex(_ value: UInt64) {
        let digits = max(1, (64 - value.leadingZeroBitCount + 3) / 4)
        var shift = (digits - 1) * 4
        let out = base + writeIndex
        var i = 0
        while shift >= 0 {
            let nibble = UInt8((value >> UInt64(shift)) & 0xF)
            out.storeBytes(of: nibble < 10 ? 0x30 + nibble : 0x57 + nibble, toByteOffset: i, as: UInt8.self)
            i += 1
            shift -= 4
        }
        writeIndex += digits
    }
}
