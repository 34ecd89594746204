import Synchronization
import TurnoutPosix

/// One worker's access log lines for one file, on their way to the writer thread: a byte ring with one producer
/// (the worker) and one consumer (`AccessLogWriter`). The worker appends whole lines or none: a line that does not
/// fit is dropped and counted, so a writer that falls behind (a slow disk, a full one, a FIFO nobody reads) never
/// makes a worker wait, and nothing queues beyond the ring's fixed size.
///
/// `head` and `tail` count bytes since the start and only grow; the producer publishes a line by storing `head`
/// (release) after copying it, the consumer frees bytes by storing `tail` (release) after writing them.
final class AccessLogRing: @unchecked Sendable {
    let capacity: Int
    private let storage: UnsafeMutableRawPointer
    private let head = Atomic<Int>(0)
    private let tail = Atomic<Int>(0)
    /// Lines dropped for want of room: written by the worker, read by the writer.
    let dropped = Atomic<UInt64>(0)

    init(capacity: Int) {
        self.capacity = capacity
        storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
    }

    deinit { storage.deallocate() }

    /// The worker: appends `line` whole, or drops it (counted) when the ring has no room for it.
    func append(_ line: UnsafeRawBufferPointer) {
        let start = head.load(ordering: .relaxed)
        guard line.count <= capacity - (start - tail.load(ordering: .acquiring)) else {
            dropped.add(1, ordering: .relaxed)
            return
        }
        let offset = start % capacity
        let first = min(line.count, capacity - offset)
        (storage + offset).copyMemory(from: line.baseAddress!, byteCount: first)
        if first < line.count { storage.copyMemory(from: line.baseAddress! + first, byteCount: line.count - first) }
        head.store(start + line.count, ordering: .releasing)
    }

    /// The writer: the bytes waiting, as up to two spans (the second after the ring wraps).
    func waiting() -> (UnsafeRawBufferPointer, UnsafeRawBufferPointer) {
        let start = tail.load(ordering: .relaxed)
        let count = head.load(ordering: .acquiring) - start
        let offset = start % capacity
        let first = min(count, capacity - offset)
        return (UnsafeRawBufferPointer(start: storage + offset, count: first),
                UnsafeRawBufferPointer(start: storage, count: count - first))
    }

    /// The writer: `count` bytes of `waiting()` are written (or given up on); their room is the worker's again.
    func consume(_ count: Int) {
        tail.store(tail.load(ordering: .relaxed) + count, ordering: .releasing)
    }
}
