/// One timer on a `ControlClock` for a deadline that moves: the health checker's earliest probe, the name
/// refresher's earliest lookup. Setting the same deadline again keeps the timer; another one moves it; nil
/// clears it. `action` runs once the deadline passes (and not again until the timer is set anew).
final class DeadlineTimer {
    private let clock: any ControlClock
    private let action: () -> Void
    private var wake: (timer: TimerID, deadline: UInt64)?

    /// `action` should hold its owner weakly: the clock keeps the timer, and so the action, until it runs.
    init(clock: any ControlClock, action: @escaping () -> Void) {
        self.clock = clock
        self.action = action
    }

    /// Runs `action` at `deadline` (monotonic ns; at once when it has passed), instead of when it was set for.
    func set(_ deadline: UInt64?) {
        guard deadline != wake?.deadline else { return }
        if let wake { clock.cancel(wake.timer) }
        wake = nil
        guard let deadline else { return }
        let now = clock.monotonicNanoseconds
        let timer = clock.schedule(after: deadline > now ? deadline - now : 0) { [weak self] in
            guard let self else { return }
            wake = nil
            action()
        }
        wake = (timer, deadline)
    }
}
