import CTurnoutLinux

/// A run of `UInt64` counter slots on cache lines of their own, written by one thread and read by any.
///
/// The writer adds with a relaxed load and store (no locked instruction: nobody else writes the slot),
/// and readers load relaxed, so a concurrent scrape is defined behaviour and never sees a torn value.
/// The storage is rounded up to whole 128-byte blocks (two lines: adjacent-line prefetchers pair them)
/// so no other thread's data shares them. Value type over manually managed memory: the owning class
/// allocates it once and deallocates it in `deinit`.
struct OwnedSlots {
    private static let isolationBytes = 128

    private let base: UnsafeMutablePointer<UInt64>

    /// Allocates `count` zeroed slots.
    static func allocate(count: Int) -> OwnedSlots {
        precondition(count > 0, "a slot run needs at least one slot")
        let bytes = (count * MemoryLayout<UInt64>.stride + isolationBytes - 1) / isolationBytes * isolationBytes
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: isolationBytes)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        return OwnedSlots(base: raw.bindMemory(to: UInt64.self, capacity: bytes / MemoryLayout<UInt64>.stride))
    }

    func deallocate() {
        UnsafeMutableRawPointer(base).deallocate()
    }

    /// Adds to slot `index`; only the owning thread may call this.
    @inline(__always)
    func add(_ value: UInt64, at index: Int) {
        turnout_owned_add_u64(base + index, value)
    }

    /// Reads slot `index` from any thread.
    @inline(__always)
    func load(_ index: Int) -> UInt64 {
        turnout_atomic_load_u64(base + index)
    }
}
