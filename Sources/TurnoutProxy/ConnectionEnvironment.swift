import TurnoutHTTP1

/// What a worker lends the state machines of its client connections: settings, the clock, the pools their
/// buffers and exchange records come from, and scratch space. Memory only: sockets, routing, counters and the
/// log stay with the worker. One per worker; tests make their own.
final class ConnectionEnvironment {
    let settings: WorkerSettings
    let pool: BufferPool
    /// Scratch fields for response heads, which are rewritten as soon as they are parsed.
    let responseFields: HeaderFieldTable
    var requestIds = RequestIdGenerator()
    /// Monotonic nanoseconds, read by the worker once per batch of events.
    var now: UInt64
    /// The worker is draining: every exchange that starts closes its connection after the response.
    var draining = false
    /// Cleared once the kernel refuses to splice: bodies and tunnels are copied from then on.
    var spliceEnabled = true

    init(settings: WorkerSettings, now: UInt64) {
        self.settings = settings
        self.now = now
        pool = BufferPool(bufferCapacity: settings.bufferCapacity, headerCapacity: settings.limits.maxHeaders)
        responseFields = HeaderFieldTable(capacity: settings.limits.maxHeaders)
    }
}
