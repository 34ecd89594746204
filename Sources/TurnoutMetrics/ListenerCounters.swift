/// One worker's counters for one listener: errors the proxy answered itself, retries, connections,
/// body bytes spliced.
///
/// Written by the worker that created it only; read by the scrape through the registry that owns it.
public final class ListenerCounters: @unchecked Sendable {
    /// Status codes with a slot each; anything else shares the `otherProxyError` slot.
    static let proxyErrorStatuses = 400...599

    private enum Slot {
        static let retries = 0
        static let connectionsOpened = 1
        static let connectionsClosed = 2
        static let splicedRequestBytes = 3
        static let splicedResponseBytes = 4
        static let tlsHandshakes = 5
        static let firstHandshakeFailure = 6
        static let firstProxyError = firstHandshakeFailure + TLSHandshakeFailure.allCases.count
        static let otherProxyError = firstProxyError + proxyErrorStatuses.count
        static let count = otherProxyError + 1
    }

    public let listener: String

    private let slots: OwnedSlots

    init(listener: String) {
        self.listener = listener
        slots = .allocate(count: Slot.count)
    }

    deinit {
        slots.deallocate()
    }

    /// Counts an error response the proxy generated itself (400, 408, 431, 502, 503, 504, …).
    /// A status outside 400...599 is counted under the code label `other`.
    @inline(__always)
    public func recordProxyError(status: Int) {
        let slot = Self.proxyErrorStatuses.contains(status)
            ? Slot.firstProxyError + (status - Self.proxyErrorStatuses.lowerBound)
            : Slot.otherProxyError
        slots.add(1, at: slot)
    }

    /// Counts a request sent again to another target after a failed attempt.
    @inline(__always)
    public func recordRetry() {
        slots.add(1, at: Slot.retries)
    }

    /// Counts an accepted client connection (the active-connections gauge is opened minus closed).
    @inline(__always)
    public func connectionOpened() {
        slots.add(1, at: Slot.connectionsOpened)
    }

    /// Counts a closed client connection; call it on the worker that counted its opening.
    @inline(__always)
    public func connectionClosed() {
        slots.add(1, at: Slot.connectionsClosed)
    }

    /// Counts request body bytes moved client → upstream with `splice(2)` (never in user space).
    @inline(__always)
    public func recordSplicedRequestBytes(_ count: UInt64) {
        slots.add(count, at: Slot.splicedRequestBytes)
    }

    /// Counts response body bytes moved upstream → client with `splice(2)` (never in user space).
    @inline(__always)
    public func recordSplicedResponseBytes(_ count: UInt64) {
        slots.add(count, at: Slot.splicedResponseBytes)
    }

    /// Counts a completed TLS handshake (an HTTPS listener).
    @inline(__always)
    public func recordHandshake() {
        slots.add(1, at: Slot.tlsHandshakes)
    }

    /// Counts a TLS handshake that failed, by why.
    public func recordHandshakeFailure(_ reason: TLSHandshakeFailure) {
        slots.add(1, at: Slot.firstHandshakeFailure + reason.rawValue)
    }

    /// Error responses of 500 and above the proxy generated, read from any thread without allocating.
    func serverErrors() -> UInt64 {
        var total: UInt64 = 0
        var status = 500
        while status <= Self.proxyErrorStatuses.upperBound {
            total += slots.load(Slot.firstProxyError + (status - Self.proxyErrorStatuses.lowerBound))
            status += 1
        }
        return total
    }

    /// Current values, read from any thread.
    func load() -> MetricsSnapshot.ListenerTotals {
        // Closed before opened: both only grow, so opened read later is never below closed.
        let closed = slots.load(Slot.connectionsClosed)
        let opened = slots.load(Slot.connectionsOpened)
        var proxyErrors: [Int: UInt64] = [:]
        for status in Self.proxyErrorStatuses {
            let count = slots.load(Slot.firstProxyError + (status - Self.proxyErrorStatuses.lowerBound))
            if count > 0 { proxyErrors[status] = count }
        }
        let other = slots.load(Slot.otherProxyError)
        if other > 0 { proxyErrors[MetricsSnapshot.ListenerTotals.otherProxyErrorStatus] = other }
        var handshakeFailures: [TLSHandshakeFailure: UInt64] = [:]
        for reason in TLSHandshakeFailure.allCases {
            let count = slots.load(Slot.firstHandshakeFailure + reason.rawValue)
            if count > 0 { handshakeFailures[reason] = count }
        }
        return MetricsSnapshot.ListenerTotals(
            retries: slots.load(Slot.retries),
            connectionsOpened: opened,
            connectionsClosed: closed,
            splicedRequestBytes: slots.load(Slot.splicedRequestBytes),
            splicedResponseBytes: slots.load(Slot.splicedResponseBytes),
            tlsHandshakes: slots.load(Slot.tlsHandshakes),
            tlsHandshakeFailures: handshakeFailures,
            proxyErrors: proxyErrors
        )
    }
}

/// Why a TLS handshake failed, as `turnout_tls_handshake_failures_total` labels it.
public enum TLSHandshakeFailure: Int, CaseIterable, Sendable {
    /// Not done within `timeouts.tls_handshake`.
    case timeout
    /// The client offered only versions below the listener's `min_version`.
    case protocolVersion
    /// No cipher suite in common.
    case noSharedCipher
    /// `strict_sni`: a name no certificate has, or none.
    case unrecognizedName
    /// The bytes were not TLS (plain HTTP to an HTTPS port, say).
    case notTLS
    /// The peer closed or reset the connection during the handshake.
    case closed
    /// The target's certificate did not verify (another CA, another name, expired): upstream TLS only.
    case certificateVerify
    /// Anything else the library refused.
    case other

    public var label: String {
        switch self {
        case .timeout: "timeout"
        case .protocolVersion: "protocol_version"
        case .noSharedCipher: "no_shared_cipher"
        case .unrecognizedName: "unrecognized_name"
        case .notTLS: "not_tls"
        case .closed: "closed"
        case .certificateVerify: "certificate_verify"
        case .other: "other"
        }
    }
}
