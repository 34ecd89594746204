import TurnoutMetrics

/// An upstream connection serving an exchange, with the buffers it uses for it and what routing decided for the
/// request. Borrowed from the worker's pool when the connection is attached (`attach`), given back when the
/// exchange lets the connection go.
final class UpstreamLink {
    let input: IOBuffer
    let output: IOBuffer
    private(set) var connection: UpstreamConnection
    /// The counters of the route taken (listener, group, target).
    private(set) var counters: RouteCounters
    /// The routed group's `upstream_response` limit, in nanoseconds.
    private(set) var responseTimeout: UInt64

    init(bufferCapacity: Int, connection: UpstreamConnection, counters: RouteCounters, responseTimeout: UInt64) {
        input = IOBuffer(capacity: bufferCapacity)
        output = IOBuffer(capacity: bufferCapacity)
        self.connection = connection
        self.counters = counters
        self.responseTimeout = responseTimeout
    }

    func attach(_ connection: UpstreamConnection, counters: RouteCounters, responseTimeout: UInt64) {
        self.connection = connection
        self.counters = counters
        self.responseTimeout = responseTimeout
    }

    var target: TargetState { connection.target }
}
