import TurnoutCore
import TurnoutPosix

/// A worker's view of one target: its address, idle connection pool, outstanding
/// requests and recent connect failures. Outlives routing generations, so pools
/// survive a publish that keeps the target.
final class TargetState {
    let key: HostPort
    let address: SocketAddress
    /// Idle keep-alive connections, most recently used last.
    var idle: [UpstreamConnection] = []
    var outstanding = 0
    /// Monotonic time before which the target is skipped: it just refused a connection.
    var refusedUntil: UInt64 = 0
    /// Whether the current table routes any weight to a group containing it.
    var inService = true

    init(key: HostPort, address: SocketAddress) {
        self.key = key
        self.address = address
        idle.reserveCapacity(64)
    }
}
