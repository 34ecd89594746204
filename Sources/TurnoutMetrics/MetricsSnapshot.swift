/// The data-plane counters at one moment, summed over workers.
public struct MetricsSnapshot: Sendable, Equatable {
    /// The labels of a forwarded-request route.
    public struct RouteKey: Hashable, Comparable, Sendable {
        public var listener: String
        public var group: String
        public var target: String

        public init(listener: String, group: String, target: String) {
            self.listener = listener
            self.group = group
            self.target = target
        }

        public static func < (lhs: RouteKey, rhs: RouteKey) -> Bool {
            (lhs.listener, lhs.group, lhs.target) < (rhs.listener, rhs.group, rhs.target)
        }
    }

    /// The labels of a listener rule's requests.
    public struct RuleKey: Hashable, Comparable, Sendable {
        public var listener: String
        public var rule: String

        public init(listener: String, rule: String) {
            self.listener = listener
            self.rule = rule
        }

        public static func < (lhs: RuleKey, rhs: RuleKey) -> Bool {
            (lhs.listener, lhs.rule) < (rhs.listener, rhs.rule)
        }
    }

    /// Counters of one route.
    public struct RouteTotals: Sendable, Equatable {
        /// Responses by status class: index 0 counts 1xx, …, index 4 counts 5xx.
        public internal(set) var responsesByClass: [UInt64]
        /// Failed connection attempts to the target.
        public internal(set) var connectErrors: UInt64
        /// Requests routed to the target (every attempt).
        public internal(set) var requestsStarted: UInt64
        /// Attempts ended, however they ended.
        public internal(set) var requestsFinished: UInt64
        /// Error responses of 500 and above the proxy answered itself for requests routed here.
        public internal(set) var proxyErrors: UInt64
        /// TLS handshakes with the target completed (groups with `tls`).
        public internal(set) var tlsHandshakes: UInt64
        /// TLS handshakes with the target failed, by reason; only reasons seen at least once.
        public internal(set) var tlsHandshakeFailures: [TLSHandshakeFailure: UInt64]
        var durationSumNanoseconds: UInt64
        var durationBucketCounts: [UInt64]

        /// Responses of status class `statusClass` (1 for 1xx … 5 for 5xx).
        public func responses(statusClass: Int) -> UInt64 {
            responsesByClass[statusClass - 1]
        }

        /// Requests started and not finished.
        public var inFlight: UInt64 {
            requestsStarted >= requestsFinished ? requestsStarted - requestsFinished : 0
        }

        /// Per-bucket duration counts (not cumulative, one more than the bounds) and their sum.
        public var durationCounts: (bucketCounts: [UInt64], sumNanoseconds: UInt64) {
            (durationBucketCounts, durationSumNanoseconds)
        }

        mutating func add(_ other: RouteTotals) {
            for index in responsesByClass.indices {
                responsesByClass[index] += other.responsesByClass[index]
            }
            connectErrors += other.connectErrors
            requestsStarted += other.requestsStarted
            requestsFinished += other.requestsFinished
            proxyErrors += other.proxyErrors
            tlsHandshakes += other.tlsHandshakes
            tlsHandshakeFailures.merge(other.tlsHandshakeFailures, uniquingKeysWith: +)
            durationSumNanoseconds += other.durationSumNanoseconds
            for index in durationBucketCounts.indices {
                durationBucketCounts[index] += other.durationBucketCounts[index]
            }
        }
    }

    /// Counters of one listener.
    public struct ListenerTotals: Sendable, Equatable {
        /// The key in `proxyErrors` of statuses outside 400...599 (rendered as code `other`).
        public static let otherProxyErrorStatus = 0

        public internal(set) var retries: UInt64
        public internal(set) var connectionsOpened: UInt64
        public internal(set) var connectionsClosed: UInt64
        /// Request body bytes spliced client → upstream.
        public internal(set) var splicedRequestBytes: UInt64
        /// Response body bytes spliced upstream → client.
        public internal(set) var splicedResponseBytes: UInt64
        /// TLS handshakes completed (HTTPS listeners).
        public internal(set) var tlsHandshakes: UInt64 = 0
        /// TLS handshakes failed, by reason; only reasons seen at least once.
        public internal(set) var tlsHandshakeFailures: [TLSHandshakeFailure: UInt64] = [:]
        /// Error responses the proxy generated, by status; only statuses seen at least once.
        public internal(set) var proxyErrors: [Int: UInt64]

        /// Client connections open now.
        public var activeConnections: UInt64 {
            connectionsOpened >= connectionsClosed ? connectionsOpened - connectionsClosed : 0
        }

        mutating func add(_ other: ListenerTotals) {
            retries += other.retries
            connectionsOpened += other.connectionsOpened
            connectionsClosed += other.connectionsClosed
            splicedRequestBytes += other.splicedRequestBytes
            splicedResponseBytes += other.splicedResponseBytes
            tlsHandshakes += other.tlsHandshakes
            tlsHandshakeFailures.merge(other.tlsHandshakeFailures, uniquingKeysWith: +)
            proxyErrors.merge(other.proxyErrors, uniquingKeysWith: +)
        }
    }

    /// Upper bounds of the request duration histograms, in seconds.
    public let durationBuckets: [Double]
    /// Every registered route.
    public internal(set) var routes: [RouteKey: RouteTotals] = [:]
    /// Every registered listener.
    public internal(set) var listeners: [String: ListenerTotals] = [:]
    /// Requests taken by each listener rule (`RuleCounters.defaultRule`: by the listener's forward).
    public internal(set) var ruleRequests: [RuleKey: UInt64] = [:]
    /// Each mirrored route's copies (`RuleKey`: the listener and the rule, `default` for the listener's forward).
    public internal(set) var mirrors: [RuleKey: MirrorTotals] = [:]

    /// A mirrored route's requests chosen for a copy, and the copies dropped by `MirrorCounters.DropReason`.
    public struct MirrorTotals: Sendable, Equatable {
        public var requests: UInt64 = 0
        public var dropped = [UInt64](repeating: 0, count: MirrorCounters.DropReason.allCases.count)
    }

    init(durationBuckets: [Double]) {
        self.durationBuckets = durationBuckets
    }

    /// Request durations of one route.
    public func duration(route: RouteKey) -> HistogramCounts? {
        routes[route].map(histogram)
    }

    /// Request durations of a target group, over all its routes (empty for an unknown group).
    public func duration(group: String) -> HistogramCounts {
        var sumNanoseconds: UInt64 = 0
        var bucketCounts = Array(repeating: UInt64(0), count: durationBuckets.count + 1)
        for (key, totals) in routes where key.group == group {
            sumNanoseconds += totals.durationSumNanoseconds
            for index in bucketCounts.indices {
                bucketCounts[index] += totals.durationBucketCounts[index]
            }
        }
        return HistogramCounts(upperBounds: durationBuckets, bucketCounts: bucketCounts,
                               sum: Double(sumNanoseconds) / 1e9)
    }

    private func histogram(_ totals: RouteTotals) -> HistogramCounts {
        HistogramCounts(upperBounds: durationBuckets, bucketCounts: totals.durationBucketCounts,
                        sum: Double(totals.durationSumNanoseconds) / 1e9)
    }

    mutating func add(_ route: RouteKey, _ totals: RouteTotals) {
        if routes[route]?.add(totals) == nil { routes[route] = totals }
    }

    mutating func add(listener: String, _ totals: ListenerTotals) {
        if listeners[listener]?.add(totals) == nil { listeners[listener] = totals }
    }
}
