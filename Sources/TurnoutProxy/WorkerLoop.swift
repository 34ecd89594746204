import TurnoutPosix

/// One worker's event loop descriptors, made and registered by `Proxy.init` (so that running out of
/// descriptors fails the start before any worker runs) and handed to the worker's thread, which alone uses
/// them from then on.
final class WorkerLoop: @unchecked Sendable {
    // @unchecked: the creating thread registers the descriptors and then only passes the object to the
    // worker's thread (or closes it when the start fails); the two never use it at the same time.
    let epoll: Epoll
    let tick: PeriodicTimer

    /// An epoll instance watching `wake`, a 100 ms tick and `listeners`, with the tokens `Worker.run` expects.
    init(wake: EventNotifier, listeners: [ListenerSocket]) throws(SystemError) {
        // On a throw the epoll descriptor closes with the Epoll object.
        epoll = try Epoll(capacity: 256)
        tick = try PeriodicTimer(intervalNanoseconds: 100_000_000)
        do {
            try epoll.add(wake.fd, [.readable], token: EventToken(.wake, slot: 0).raw)
            try epoll.add(tick.fd, [.readable], token: EventToken(.tick, slot: 0).raw)
            for (i, listener) in listeners.enumerated() {
                try epoll.add(listener.fd, [.readable], token: EventToken(.listener, slot: i).raw)
            }
        } catch {
            tick.close()
            throw error
        }
    }

    /// Closes the timer; the epoll descriptor closes with the object.
    func close() { tick.close() }
}

/// What an epoll event is about, packed into the 64-bit token registered with the
/// descriptor: kind (4 bits), slot index (32 bits) and the slot's reuse generation
/// (28 bits), so an event queued for a connection that closed in the same batch is
/// recognised as stale instead of reaching the slot's next occupant.
struct EventToken: Equatable {
    enum Kind: UInt64 {
        case listener = 0, wake = 1, tick = 2, client = 3, upstream = 4, mirror = 5
    }

    let raw: UInt64

    @inline(__always) init(raw: UInt64) { self.raw = raw }

    @inline(__always) init(_ kind: Kind, slot: Int, generation: UInt32 = 0) {
        raw = kind.rawValue | (UInt64(UInt32(truncatingIfNeeded: slot)) << 4) | (UInt64(generation & 0x0FFF_FFFF) << 36)
    }

    @inline(__always) var kind: Kind? { Kind(rawValue: raw & 0xF) }
    @inline(__always) var slot: Int { Int((raw >> 4) & 0xFFFF_FFFF) }
    @inline(__always) var generation: UInt32 { UInt32(truncatingIfNeeded: raw >> 36) & 0x0FFF_FFFF }
}
