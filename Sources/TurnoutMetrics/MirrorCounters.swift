/// One worker's count of a route's mirrored requests: the requests its sampling chose to copy, and those of them
/// whose copy was dropped, by reason. Every chosen request's copy is answered by the mirror group, dropped, or
/// still in flight.
///
/// Written by the worker that created it only; read by the scrape through the registry that owns it.
public final class MirrorCounters: @unchecked Sendable {
    /// Why a copy was dropped: the `reason` label.
    public enum DropReason: Int, CaseIterable, Sendable {
        /// The request's body was longer than `max_body`, chunked, or had not arrived whole with the head.
        case body
        /// An upgrade request (a WebSocket): a copy would open a tunnel nobody reads.
        case upgrade
        /// The worker already had its most copies in flight.
        case inFlight
        /// The copies in flight already held the worker's most buffered bytes.
        case buffered
        /// The mirror group had no target that may take requests.
        case noTarget
        /// The connection to the mirror target was refused or could not be made.
        case connect
        /// The mirror target had not answered within the group's `upstream_response`.
        case timeout
        /// The connection failed or closed before the copy was sent or answered.
        case failed

        public var label: String {
            switch self {
            case .body: return "body"
            case .upgrade: return "upgrade"
            case .inFlight: return "in_flight"
            case .buffered: return "buffered"
            case .noTarget: return "no_target"
            case .connect: return "connect"
            case .timeout: return "timeout"
            case .failed: return "failed"
            }
        }
    }

    public let listener: String
    public let rule: String

    /// Slot 0: requests chosen; then one slot per drop reason.
    private let slots: OwnedSlots

    init(listener: String, rule: String) {
        self.listener = listener
        self.rule = rule
        slots = .allocate(count: 1 + DropReason.allCases.count)
    }

    deinit {
        slots.deallocate()
    }

    /// Counts a request the route's sampling chose to copy.
    @inline(__always)
    public func recordRequest() {
        slots.add(1, at: 0)
    }

    /// Counts a chosen request whose copy was dropped.
    @inline(__always)
    public func recordDrop(_ reason: DropReason) {
        slots.add(1, at: 1 + reason.rawValue)
    }

    func load() -> (requests: UInt64, dropped: [UInt64]) {
        (slots.load(0), DropReason.allCases.map { slots.load(1 + $0.rawValue) })
    }
}
