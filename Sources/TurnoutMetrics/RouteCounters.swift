/// One worker's counters for requests forwarded from one listener to one target of one group.
///
/// Written by the worker that created it only (no lock, no allocation, no locked instruction per
/// call); read by the scrape through the registry that owns it.
public final class RouteCounters: @unchecked Sendable {
    /// Slot layout: five status classes (1xx…5xx), connect errors, requests started and finished, proxy
    /// errors, TLS handshakes with the target and their failures by reason, then the duration histogram (its sum
    /// in nanoseconds, then one count per bucket).
    enum Slot {
        static let firstStatusClass = 0
        static let connectErrors = 5
        static let started = 6
        static let finished = 7
        static let proxyErrors = 8
        static let tlsHandshakes = 9
        static let firstHandshakeFailure = 10
        static let durationHistogram = firstHandshakeFailure + TLSHandshakeFailure.allCases.count
    }

    public let listener: String
    public let group: String
    public let target: String
    /// Slots in the block: what `copySlots(into:)` copies.
    let slotCount: Int

    private let slots: OwnedSlots
    private let duration: HistogramSlots
    private let bounds: BucketBounds  // keeps `duration`'s bound pointer alive

    init(listener: String, group: String, target: String, bounds: BucketBounds) {
        self.listener = listener
        self.group = group
        self.target = target
        self.bounds = bounds
        slotCount = Slot.durationHistogram + HistogramSlots.slotCount(boundCount: bounds.count)
        slots = .allocate(count: slotCount)
        duration = HistogramSlots(slots: slots, first: Slot.durationHistogram, bounds: bounds)
    }

    deinit {
        slots.deallocate()
    }

    /// Counts a response passed to the client with its status class, and its duration in the group's
    /// duration histogram.
    @inline(__always)
    public func recordResponse(status: Int, durationNanoseconds: UInt64) {
        slots.add(1, at: Slot.firstStatusClass + statusClassIndex(status))
        duration.record(nanoseconds: durationNanoseconds)
    }

    /// Counts a failed attempt to connect to the target.
    @inline(__always)
    public func recordConnectError() {
        slots.add(1, at: Slot.connectErrors)
    }

    /// Counts a request routed to the target (each attempt: a retry on another target starts again there).
    /// Started minus finished is what is in flight.
    @inline(__always)
    public func recordStarted() {
        slots.add(1, at: Slot.started)
    }

    /// Counts the end of an attempt counted by `recordStarted`, however it ended (a response, a connect
    /// error, a timeout, the client gone); call it on the same block.
    @inline(__always)
    public func recordFinished() {
        slots.add(1, at: Slot.finished)
    }

    /// Counts an error response the proxy answered itself for a request routed to the target (a reset
    /// before the response, a timeout). Only statuses of 500 and above count: they are the route's
    /// failures; the listener's counters keep every status.
    @inline(__always)
    public func recordProxyError(status: Int) {
        if status >= 500 { slots.add(1, at: Slot.proxyErrors) }
    }

    /// Counts a TLS handshake with the target completed (a group with `tls`).
    @inline(__always)
    public func recordTLSHandshake() {
        slots.add(1, at: Slot.tlsHandshakes)
    }

    /// Counts a TLS handshake with the target that failed, by why (it is a connect error too).
    public func recordTLSHandshakeFailure(_ reason: TLSHandshakeFailure) {
        slots.add(1, at: Slot.firstHandshakeFailure + reason.rawValue)
    }

    /// Copies every slot into `buffer` (`slotCount` of them) with relaxed loads, from any thread, without
    /// allocating: the figures' once-a-second sample. Finished is read before started, so that started is
    /// never below it.
    func copySlots(into buffer: UnsafeMutablePointer<UInt64>) {
        buffer[Slot.finished] = slots.load(Slot.finished)
        var index = 0
        while index < slotCount {
            if index != Slot.finished { buffer[index] = slots.load(index) }
            index += 1
        }
    }

    /// Requests started and not finished now (relaxed loads, from any thread).
    func inFlight() -> UInt64 {
        let finished = slots.load(Slot.finished)
        let started = slots.load(Slot.started)
        return started >= finished ? started - finished : 0
    }

    /// Current values, read from any thread.
    func load() -> MetricsSnapshot.RouteTotals {
        let (sumNanoseconds, bucketCounts) = duration.load()
        // Finished before started: both only grow, so started read later is never below finished.
        let finished = slots.load(Slot.finished)
        var handshakeFailures: [TLSHandshakeFailure: UInt64] = [:]
        for reason in TLSHandshakeFailure.allCases {
            let count = slots.load(Slot.firstHandshakeFailure + reason.rawValue)
            if count > 0 { handshakeFailures[reason] = count }
        }
        return MetricsSnapshot.RouteTotals(
            responsesByClass: (0..<5).map { slots.load(Slot.firstStatusClass + $0) },
            connectErrors: slots.load(Slot.connectErrors),
            requestsStarted: slots.load(Slot.started),
            requestsFinished: finished,
            proxyErrors: slots.load(Slot.proxyErrors),
            tlsHandshakes: slots.load(Slot.tlsHandshakes),
            tlsHandshakeFailures: handshakeFailures,
            durationSumNanoseconds: sumNanoseconds,
            durationBucketCounts: bucketCounts
        )
    }
}

/// 0 for 1xx … 4 for 5xx; what lies below 200 counts as 1xx and what lies above 599 as 5xx.
@inline(__always)
func statusClassIndex(_ status: Int) -> Int {
    min(max(status / 100, 1), 5) - 1
}
