import TurnoutPosix

/// Makes X-Request-Id values: 32 lowercase hex digits from a per-worker xorshift
/// generator seeded from the kernel, written into a reusable buffer (no allocation).
/// Not copyable: it owns the buffer and frees it when it goes.
struct RequestIdGenerator: ~Copyable {
    private var s0: UInt64
    private var s1: UInt64
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 32, alignment: 8)

    init() {
        var seed: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &seed) { SystemRandom.fill($0) }
        s0 = seed.0 | 1
        s1 = seed.1 | 2
    }

    deinit {
        buffer.deallocate()
    }

    /// Writes a fresh id into `buffer` and returns it.
    mutating func next() -> UnsafeRawBufferPointer {
        let a = step(), b = step()
        write(a, at: 0)
        write(b, at: 16)
        return UnsafeRawBufferPointer(buffer)
    }

    private mutating func step() -> UInt64 {
        var x = s0
        let y = s1
        s0 = y
        x ^= x << 23
        s1 = x ^ y ^ (x >> 17) ^ (y >> 26)
        return s1 &+ y
    }

    private func write(_ value: UInt64, at offset: Int) {
        for i in 0..<16 {
            let nibble = UInt8((value >> UInt64(60 - i * 4)) & 0xF)
            buffer[offset + i] = nibble < 10 ? 0x30 + nibble : 0x57 + nibble
        }
    }
}
