/// One worker's count of the requests one listener rule took (`default`: the requests no rule matched, which the
/// listener's own forward takes), whatever the rule did with them: forwarded, answered, redirected.
///
/// Written by the worker that created it only; read by the scrape through the registry that owns it.
public final class RuleCounters: @unchecked Sendable {
    /// The `rule` label of the requests no rule matched.
    public static let defaultRule = "default"

    public let listener: String
    public let rule: String

    private let slots: OwnedSlots

    init(listener: String, rule: String) {
        self.listener = listener
        self.rule = rule
        slots = .allocate(count: 1)
    }

    deinit {
        slots.deallocate()
    }

    /// Counts a request the rule took.
    @inline(__always)
    public func recordRequest() {
        slots.add(1, at: 0)
    }

    func load() -> UInt64 { slots.load(0) }
}
