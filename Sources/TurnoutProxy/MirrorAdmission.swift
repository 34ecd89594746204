import TurnoutMetrics

/// Chooses which of a mirrored route's requests are copied: each independently with the route's percentage, as
/// Envoy's `runtime_fraction` does, from a per-worker generator (splitmix64: no lock, no system call, no allocation).
struct MirrorSampler {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    /// Whether this request is copied, with probability `percent` / 100 (0 never, 100 always).
    @inline(__always)
    mutating func chooses(percent: Int) -> Bool {
        if percent >= 100 { return true }
        if percent <= 0 { return false }
        return next() % 100 < UInt64(percent)
    }

    @inline(__always)
    private mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A worker's limits on mirroring, so that a slow or dead mirror group costs a bounded amount and never a queue:
/// at most `maxInFlight` copies at once, holding at most `maxBytes` of copied requests between them. A copy that
/// would pass either is dropped, never waits.
struct MirrorBudget {
    let maxInFlight: Int
    let maxBytes: Int
    private(set) var inFlight = 0
    private(set) var bytes = 0

    /// 64 copies and 1 MiB per worker: far more than a healthy mirror group has in flight at a 10 % share, and
    /// what a worker can afford to hold for one that stopped answering.
    static let defaultMaxInFlight = 64
    static let defaultMaxBytes = 1 << 20

    init(maxInFlight: Int = MirrorBudget.defaultMaxInFlight, maxBytes: Int = MirrorBudget.defaultMaxBytes) {
        self.maxInFlight = maxInFlight
        self.maxBytes = maxBytes
    }

    /// Takes room for a copy of `size` bytes; nil when it was taken, else why not.
    mutating func reserve(_ size: Int) -> MirrorCounters.DropReason? {
        if inFlight >= maxInFlight { return .inFlight }
        if size > maxBytes - bytes { return .buffered }
        inFlight += 1
        bytes += size
        return nil
    }

    /// Gives back what `reserve(size)` took, when the copy is over.
    mutating func release(_ size: Int) {
        precondition(inFlight > 0 && bytes >= size, "a mirror copy released twice")
        inFlight -= 1
        bytes -= size
    }
}
