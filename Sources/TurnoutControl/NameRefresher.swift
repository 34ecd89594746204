import TurnoutCore

/// Looks up the names registered in every group again and again, on the control thread: carries out what
/// `NameRefreshState` decides. One timer on the clock wakes it when the earliest lookup is due; the
/// `NameResolver` runs the lookups off the thread; every answer goes to `onAnswer`.
public final class NameRefresher {
    private var state = NameRefreshState()
    private let clock: any ControlClock
    private let resolver: any NameResolver
    private let onAnswer: (NameAnswered) -> Void
    /// Set for the earliest lookup due.
    private lazy var wake = DeadlineTimer(clock: clock) { [weak self] in self?.startDueLookups() }
    /// Waiting for every name's first answer (`whenEveryNameAnswered`).
    private var waiting: [() -> Void] = []

    public init(clock: any ControlClock, resolver: any NameResolver, onAnswer: @escaping (NameAnswered) -> Void) {
        self.clock = clock
        self.resolver = resolver
        self.onAnswer = onAnswer
    }

    /// Takes the current groups (see `NameRefreshState.update`); a new name is looked up at once.
    public func update(groups: [GroupRoute]) {
        state.update(groups: groups, now: clock.monotonicNanoseconds)
        wake.set(state.nextDeadline)
    }

    /// What is known of `name` in `group`; nil when it is not registered there.
    public func resolution(group: String, name: HostPort) -> NameResolution? {
        state.resolution(group: group, name: name)
    }

    /// Runs `action` once every registered name has had its first answer, or once `nanoseconds` have passed,
    /// whichever comes first (at once when no name waits for one). It runs after `onAnswer` has handled the
    /// last answer, so what that answer changed is published by then.
    public func whenEveryNameAnswered(within nanoseconds: UInt64, _ action: @escaping () -> Void) {
        var done = false
        let once = { if !done { done = true; action() } }
        waiting.append(once)
        clock.schedule(after: nanoseconds) { once() }
        settleWaiting()
    }

    /// Stops the lookups' timer and forgets every name (answers still to come are ignored).
    public func shutdown() {
        state.update(groups: [], now: clock.monotonicNanoseconds)
        wake.set(state.nextDeadline)
    }

    private func settleWaiting() {
        guard state.everyNameAnswered, !waiting.isEmpty else { return }
        let ready = waiting
        waiting = []
        for action in ready { action() }
    }

    private func startDueLookups() {
        for order in state.dueLookups(now: clock.monotonicNanoseconds) {
            resolver.lookUp(order.name) { [weak self] answer in
                guard let self, let answered = state.record(answer, of: order, wallMilliseconds: clock.wallMilliseconds)
                else { return }
                onAnswer(answered)
                settleWaiting()
            }
        }
        wake.set(state.nextDeadline)
    }
}
