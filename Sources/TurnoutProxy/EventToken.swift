/// What an epoll event is about, packed into the 64-bit token registered with the
/// descriptor: kind (4 bits), slot index (32 bits) and the slot's reuse generation
/// (28 bits), so an event queued for a connection that closed in the same batch is
/// recognised as stale instead of reaching the slot's next occupant.
struct EventToken: Equatable {
    enum Kind: UInt64 {
        case listener = 0, wake = 1, tick = 2, client = 3, upstream = 4
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
