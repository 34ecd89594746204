import Synchronization

/// One target's run of consecutive failures, shared by every worker, so that
/// `passive_ejection.consecutive_failures` counts the target's failures in a row across
/// the whole proxy (as HAProxy's and Envoy's do), not per worker (which let a target fail
/// up to workers × that many times).
///
/// A response only reads it (a relaxed load of a line that stays shared in every core's
/// cache) and writes it only to end a run, so a healthy target costs no cache-line traffic.
final class TargetFailureRun: Sendable {
    private let count = Atomic<Int>(0)

    /// Adds a failure; returns the run's length with it.
    @inline(__always)
    func recordFailure() -> Int {
        count.wrappingAdd(1, ordering: .relaxed).newValue
    }

    /// Ends the run (a successful response), writing only when there is a run to end.
    @inline(__always)
    func recordSuccess() {
        if count.load(ordering: .relaxed) != 0 { count.store(0, ordering: .relaxed) }
    }
}
