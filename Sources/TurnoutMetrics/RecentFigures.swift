/// The last `capacity` seconds of figures of every route, target group and route–group pair: one
/// per-second ring per key, filled from the registry's counter blocks once a second.
///
/// The control thread calls `record(_:second:)` once a second; each block's slots are read (relaxed loads,
/// as a scrape does) and what changed since the sample before is added to the block's three keys: its
/// group, its route, and the pair. Nothing is added on the request path: the workers only count into
/// their own blocks, as for `/metrics`. A sample allocates nothing once every block and key has been
/// seen (the storage is laid out when a block first appears), so the control thread stays as quiet as
/// the workers in steady state. The status, the figures endpoint, a switch's report and a deployment's
/// alarms all read these rings.
///
/// A sample that comes late (the control thread was busy) carries everything since the one before
/// into its own second; the seconds it skipped read as empty. Two samples in one second add up.
/// Used on one thread (the control thread).
public final class RecentFigures {
    /// Fifteen minutes.
    public static let defaultSeconds = 900

    /// Seconds kept per key.
    public let capacity: Int
    /// The bounds of the latency histograms.
    public let durationBuckets: [Double]
    /// The second of the latest sample; nil before the first.
    public private(set) var latestSecond: UInt64?
    /// The second of the first sample that carried figures (the one after the baseline).
    private var firstSecond: UInt64?

    private var keyIndex: [FigureKey: Int] = [:]
    private var keyList: [FigureKey] = []
    private var rings: [FigureRing] = []
    /// Per route block seen, in the registry's order: the indices of its group, route and pair keys.
    private var routeBlockKeys: [Int] = []
    /// Per listener block seen: the index of its route's key.
    private var listenerBlockKeys: [Int] = []
    /// The slots of a route block.
    private let routeSlots: Int
    /// Each route block's slots at the sample before, `routeSlots` per block; each listener block's
    /// server errors then.
    private let previousRoutes = SlotBuffer()
    private let previousListeners = SlotBuffer()
    /// One block's slots now.
    private let current = SlotBuffer()
    /// This sample's figures per key, laid out as a ring slot.
    private let sums = SlotBuffer()

    public init(seconds: Int = RecentFigures.defaultSeconds, durationBuckets: [Double]) {
        precondition(seconds > 0, "the figures keep at least one second")
        capacity = seconds
        self.durationBuckets = durationBuckets
        routeSlots = RouteCounters.Slot.durationHistogram + HistogramSlots.slotCount(boundCount: durationBuckets.count)
        current.grow(to: routeSlots)
    }

    /// Every key seen so far, in order.
    public var keys: [FigureKey] { keyList.sorted() }

    /// Takes `registry`'s counters as they are at monotonic second `second`. The first call only sets the
    /// baseline; a second earlier than the latest is ignored (its counts go to the next sample). The
    /// registry must have this one's duration buckets.
    public func record(_ registry: MetricsRegistry, second: UInt64) {
        if let latest = latestSecond, second < latest { return }
        if latestSecond == nil {
            precondition(registry.durationBuckets == durationBuckets, "the figures need the registry's buckets")
        }
        let (routes, listeners) = registry.registeredBlocks()
        track(routes, listeners)
        let baseline = latestSecond == nil
        let stride = FigureRing.stride(bucketCount: durationBuckets.count + 1)
        sums.zero(count: keyList.count * stride)
        var block = 0
        while block < routes.count {
            routes[block].copySlots(into: current.pointer)
            addRouteBlock(block, stride: stride)
            block += 1
        }
        block = 0
        while block < listeners.count {
            let now = listeners[block].serverErrors()
            let before = previousListeners.pointer[block]
            previousListeners.pointer[block] = now
            sums.pointer[listenerBlockKeys[block] * stride + FigureRing.Field.proxyErrors] += now > before ? now - before : 0
            block += 1
        }
        latestSecond = second
        if baseline { return }
        if firstSecond == nil { firstSecond = second }
        var key = 0
        while key < rings.count {
            rings[key].record(sums.pointer + key * stride, second: second)
            key += 1
        }
    }

    /// Adds what route block `block` (its slots in `current`) did since the sample before to its keys'
    /// sums, and keeps its slots for the next sample.
    private func addRouteBlock(_ block: Int, stride: Int) {
        typealias Slot = RouteCounters.Slot
        let now = current.pointer, before = previousRoutes.pointer + block * routeSlots
        var responses: UInt64 = 0
        var statusClass = 0
        while statusClass < 5 {
            responses += Self.delta(now, before, Slot.firstStatusClass + statusClass)
            statusClass += 1
        }
        let inFlight = now[Slot.started] > now[Slot.finished] ? now[Slot.started] - now[Slot.finished] : 0
        var which = 0
        while which < 3 {
            let sum = sums.pointer + routeBlockKeys[block * 3 + which] * stride
            sum[FigureRing.Field.responses] += responses
            sum[FigureRing.Field.responses5xx] += Self.delta(now, before, Slot.firstStatusClass + 4)
            // A route's proxy errors are its listener's (requests with no target included), added apart.
            if which != 1 { sum[FigureRing.Field.proxyErrors] += Self.delta(now, before, Slot.proxyErrors) }
            sum[FigureRing.Field.connectErrors] += Self.delta(now, before, Slot.connectErrors)
            sum[FigureRing.Field.inFlight] += inFlight
            var slot = Slot.durationHistogram
            while slot < routeSlots {
                sum[FigureRing.Field.latencySum + slot - Slot.durationHistogram] += Self.delta(now, before, slot)
                slot += 1
            }
            which += 1
        }
        var slot = 0
        while slot < routeSlots {
            before[slot] = now[slot]
            slot += 1
        }
    }

    /// How much slot `slot` grew from `before` to `now` (counters never go backwards).
    private static func delta(_ now: UnsafeMutablePointer<UInt64>, _ before: UnsafeMutablePointer<UInt64>, _ slot: Int) -> UInt64 {
        now[slot] > before[slot] ? now[slot] - before[slot] : 0
    }

    /// Lays out the rings of every route, group and pair of `listeners` × `groups` now, so that the first
    /// samples after their traffic starts have nothing to set up. (Workers register a block for every
    /// listener, group and target of the table, weighted or not.)
    public func prepare(listeners: [String], groups: [String]) {
        for listener in listeners {
            let route = RouteName(listener: listener)
            _ = key(.route(route))
            for group in groups { _ = key(.route(route, group: group)) }
        }
        for group in groups { _ = key(.group(group)) }
        sums.grow(to: keyList.count * FigureRing.stride(bucketCount: durationBuckets.count + 1))
    }

    /// Lays out keys, rings and previous slots for blocks registered since the last sample (from zero:
    /// a block's counts so far are new). Index loops: this runs on every sample, and generic iteration
    /// allocates in unoptimised builds.
    private func track(_ routes: [RouteCounters], _ listeners: [ListenerCounters]) {
        var block = routeBlockKeys.count / 3
        if routes.count > block {
            previousRoutes.grow(to: routes.count * routeSlots)
            routeBlockKeys.reserveCapacity(routes.count * 3)
            while block < routes.count {
                let route = RouteName(listener: routes[block].listener)
                routeBlockKeys.append(key(.group(routes[block].group)))
                routeBlockKeys.append(key(.route(route)))
                routeBlockKeys.append(key(.route(route, group: routes[block].group)))
                block += 1
            }
        }
        block = listenerBlockKeys.count
        if listeners.count > block {
            previousListeners.grow(to: listeners.count)
            while block < listeners.count {
                listenerBlockKeys.append(key(.listener(listeners[block].listener)))
                block += 1
            }
        }
        sums.grow(to: keyList.count * FigureRing.stride(bucketCount: durationBuckets.count + 1))
    }

    /// The index of `figureKey`, with a ring of its own from now on.
    private func key(_ figureKey: FigureKey) -> Int {
        if let index = keyIndex[figureKey] { return index }
        keyIndex[figureKey] = keyList.count
        keyList.append(figureKey)
        rings.append(FigureRing(capacity: capacity, bucketCount: durationBuckets.count + 1))
        return keyList.count - 1
    }

    /// Seconds with figures, up to `seconds` (and `capacity`), ending at the latest sample.
    public func coveredSeconds(_ seconds: Int) -> Int {
        guard let firstSecond, let latestSecond else { return 0 }
        return min(max(seconds, 0), capacity, Int(latestSecond - firstSecond + 1))
    }

    /// `key`'s figures over the last `seconds` seconds (fewer while the figures are younger).
    public func window(_ key: FigureKey, seconds: Int) -> WindowFigures {
        var counts = FigureCounts(durationBuckets: durationBuckets)
        let covered = coveredSeconds(seconds)
        guard covered > 0, let latestSecond, let index = keyIndex[key] else {
            return WindowFigures(seconds: covered, counts: counts, inFlight: 0)
        }
        for second in (latestSecond - UInt64(covered) + 1)...latestSecond {
            if let slot = rings[index].counts(at: second, bounds: durationBuckets) { counts.add(slot) }
        }
        return WindowFigures(seconds: covered, counts: counts, inFlight: rings[index].inFlight(at: latestSecond))
    }

    /// `key`'s figures second by second over the last `seconds` seconds, oldest first; a second without a
    /// sample has empty counts.
    public func series(_ key: FigureKey, seconds: Int) -> [SecondFigures] {
        let covered = coveredSeconds(seconds)
        guard covered > 0, let latestSecond else { return [] }
        let ring = keyIndex[key].map { rings[$0] }
        let empty = FigureCounts(durationBuckets: durationBuckets)
        return ((latestSecond - UInt64(covered) + 1)...latestSecond).map { second in
            SecondFigures(second: second, counts: ring?.counts(at: second, bounds: durationBuckets) ?? empty,
                          inFlight: ring?.inFlight(at: second) ?? 0)
        }
    }
}

/// One key's seconds, in one run of slots laid out once: per second, the second it holds (plus one; 0
/// for none), responses, 5xx responses, proxy errors, connect errors, in flight, the latency sum in
/// nanoseconds, then the latency bucket counts.
private final class FigureRing {
    enum Field {
        static let stamp = 0
        static let responses = 1
        static let responses5xx = 2
        static let proxyErrors = 3
        static let connectErrors = 4
        static let inFlight = 5
        static let latencySum = 6
        static let firstBucket = 7
    }

    /// Slots per second with `bucketCount` latency buckets.
    static func stride(bucketCount: Int) -> Int { Field.firstBucket + bucketCount }

    private let capacity: Int
    private let stride: Int
    private let slots: UnsafeMutablePointer<UInt64>

    init(capacity: Int, bucketCount: Int) {
        self.capacity = capacity
        stride = Self.stride(bucketCount: bucketCount)
        slots = .allocate(capacity: capacity * stride)
        slots.initialize(repeating: 0, count: capacity * stride)
    }

    deinit { slots.deallocate() }

    private func base(of second: UInt64) -> UnsafeMutablePointer<UInt64> {
        slots + Int(second % UInt64(capacity)) * stride
    }

    /// Adds `figures` (laid out as a slot) to `second`'s slot, starting it over when it held an older
    /// second; the in-flight figure is the latest one.
    func record(_ figures: UnsafeMutablePointer<UInt64>, second: UInt64) {
        let slot = base(of: second)
        if slot[Field.stamp] != second + 1 {
            slot.update(repeating: 0, count: stride)
            slot[Field.stamp] = second + 1
        }
        var field = Field.responses
        while field < stride {
            slot[field] = field == Field.inFlight ? figures[field] : slot[field] + figures[field]
            field += 1
        }
    }

    /// The counts of `second`; nil when the ring holds no sample of it.
    func counts(at second: UInt64, bounds: [Double]) -> FigureCounts? {
        let slot = base(of: second)
        guard slot[Field.stamp] == second + 1 else { return nil }
        let buckets = Array(UnsafeBufferPointer(start: slot + Field.firstBucket, count: stride - Field.firstBucket))
        return FigureCounts(
            responses: slot[Field.responses], responses5xx: slot[Field.responses5xx],
            proxyErrors: slot[Field.proxyErrors], connectErrors: slot[Field.connectErrors],
            latency: HistogramCounts(upperBounds: bounds, bucketCounts: buckets,
                                     sum: Double(slot[Field.latencySum]) / 1e9))
    }

    /// Requests in flight at `second`; 0 when the ring holds no sample of it.
    func inFlight(at second: UInt64) -> UInt64 {
        let slot = base(of: second)
        return slot[Field.stamp] == second + 1 ? slot[Field.inFlight] : 0
    }
}

/// A run of `UInt64` that grows (zeroed) and is otherwise reused: the sampler's working storage.
private final class SlotBuffer {
    private(set) var pointer: UnsafeMutablePointer<UInt64>
    private var count = 1

    init() {
        pointer = .allocate(capacity: 1)
        pointer.initialize(to: 0)
    }

    deinit { pointer.deallocate() }

    /// Makes room for `needed` slots, keeping what is there and zeroing the rest.
    func grow(to needed: Int) {
        guard needed > count else { return }
        let grown = UnsafeMutablePointer<UInt64>.allocate(capacity: needed)
        grown.initialize(from: pointer, count: count)
        (grown + count).initialize(repeating: 0, count: needed - count)
        pointer.deallocate()
        pointer = grown
        count = needed
    }

    func zero(count: Int) { pointer.update(repeating: 0, count: min(count, self.count)) }
}
