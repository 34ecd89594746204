import TurnoutMetrics

/// One copy of a request on its way to a mirror group's target: the rewritten head and the body in a buffer of its
/// own, written once the connection is up, then the answer read and thrown away until the target closes (the copy
/// asks for `Connection: close`, so no response needs parsing and no connection is kept). A worker has a fixed
/// number of these (`MirrorBudget.maxInFlight`), made when it first routes a mirrored route and reused.
final class MirrorCopy {
    /// The copy's bytes, then (once they are out) scratch space for the answer thrown away.
    let buffer: UnsafeMutableRawBufferPointer
    /// The copy's index in the worker's `mirrorCopies`, and how many times it was used (the epoll token's generation).
    let slot: Int
    var generation: UInt32 = 0
    var fd: Int32 = -1
    /// Bytes of the copy in `buffer`, and how many are written.
    var length = 0
    var written = 0
    /// What the copy holds of the worker's budget.
    var reserved = 0
    /// When an unanswered copy is given up (the mirror group's `upstream_response`).
    var deadline: UInt64 = 0
    var connected = false
    var readable = false
    var writable = false
    /// Whether any answer byte arrived: a close before one is a failure.
    var answered = false
    /// The route's counters, for the copy's drop.
    var counters: MirrorCounters?

    init(slot: Int, capacity: Int) {
        self.slot = slot
        buffer = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// Readies the record for a new copy (its bytes are written next).
    func begin(counters: MirrorCounters, deadline: UInt64) {
        generation = (generation &+ 1) & 0x0FFF_FFFF
        self.counters = counters
        self.deadline = deadline
        length = 0
        written = 0
        reserved = 0
        connected = false
        readable = false
        writable = false
        answered = false
    }

    var isPending: Bool { written < length }
}
