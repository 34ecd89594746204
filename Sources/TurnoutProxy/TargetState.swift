import Synchronization
import TurnoutCore
import TurnoutPosix

/// A worker's view of one target: its address, idle connection pool, outstanding
/// requests and recent connect failures. Outlives routing generations, so pools
/// survive a publish that keeps the target.
final class TargetState {
    let key: HostPort
    let address: SocketAddress
    /// The target as registered, as text (`127.0.0.1:3000`, `[::1]:3000`, `app-green:3000` for an address a
    /// name resolved to), made once: the Host of a request that has none.
    let authority: UnsafeRawBufferPointer
    /// Idle keep-alive connections, most recently used last.
    var idle: [UpstreamConnection] = []
    var outstanding = 0
    /// Monotonic time before which the target is skipped: it just refused a connection.
    var refusedUntil: UInt64 = 0
    /// Whether the current table routes any weight to a group containing it.
    var inService = true
    /// Whether health allows new requests (healthy, or fail-open).
    var routable = true
    /// Set when the target's shared failure run reached `passiveEjection.consecutiveFailures`
    /// on this worker's watch; cleared when a snapshot reports the target routable again.
    var ejected = false
    /// The target's consecutive failures, counted across all workers (from the snapshot).
    var failureRun: TargetFailureRun
    var passiveEjection = PassiveEjectionConfig()
    /// The group it was last seen in (for reports to the control plane).
    var groupName = ""
    /// The deregistration delay of the group it was last seen in.
    var deregistrationDelay: UInt64 = 0
    /// Set when the target left service: connections still open at this monotonic time close.
    var drainDeadline: UInt64?
    /// Out of service but still in a group of the table and healthy, within its drain: the
    /// old colour after a switch. Its idle pool is kept until `drainDeadline`, so a switch
    /// back (or a rollback) finds warm connections instead of opening new ones.
    var standby = false

    /// Whether a connection to it that finished an exchange goes back to the pool.
    func keepsIdleConnections(now: UInt64) -> Bool {
        if inService { return true }
        guard standby, let drainDeadline else { return false }
        return drainDeadline > now
    }

    init(key: HostPort, address: SocketAddress, authority registered: HostPort, failureRun: TargetFailureRun) {
        self.key = key
        self.address = address
        self.failureRun = failureRun
        let text = Array(registered.description.utf8)
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: text.count, alignment: 1)
        bytes.copyBytes(from: text)
        authority = UnsafeRawBufferPointer(bytes)
        idle.reserveCapacity(64)
    }

    deinit { authority.deallocate() }
}

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
