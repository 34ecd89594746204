import TurnoutCore

/// What a lookup of a name found: its addresses (at least one, IP addresses on the name's port), or why there
/// are none (`name or service not known` for NXDOMAIN, `temporary failure in name resolution` for a server that
/// failed or did not answer in time).
public enum NameAnswer: Equatable, Sendable {
    case addresses([HostPort])
    case failed(String)
}

/// What is known of one registered name, as a pure state machine: `resolving` until its first answer, then
/// `resolved` or `failed` after each lookup. A failed lookup keeps the addresses of the last one that succeeded
/// (a DNS outage or a container being recreated must not take a working target away); the name's targets
/// change only when a lookup finds other addresses.
public struct NameResolution: Equatable, Sendable {
    public enum Phase: String, Sendable {
        /// No answer yet (just registered, or just started).
        case resolving
        /// The latest lookup found addresses.
        case resolved
        /// The latest lookup failed; the addresses are those of the last one that succeeded, if any.
        case failed
    }

    public private(set) var phase = Phase.resolving
    /// The addresses of the last successful lookup, sorted (`HostPort.addressOrder`); empty until one succeeds.
    public private(set) var addresses: [HostPort] = []
    /// When the last successful lookup answered (wall clock, ms since the epoch); nil until one has.
    public private(set) var resolvedAt: UInt64?
    /// Why the latest lookup failed; nil unless `phase` is `failed`.
    public private(set) var error: String?

    public init() {}

    /// Takes the answer of a lookup that finished at `wallMilliseconds`.
    ///
    /// - Returns: the phase before, when the phase changed (what is logged, once per change); nil when it stayed.
    @discardableResult
    public mutating func record(_ answer: NameAnswer, wallMilliseconds: UInt64) -> Phase? {
        let before = phase
        switch answer {
        case .addresses(let found):
            phase = .resolved
            addresses = Array(Set(found)).sorted(by: HostPort.addressOrder)
            resolvedAt = wallMilliseconds
            error = nil
        case .failed(let reason):
            phase = .failed
            error = reason
        }
        return phase == before ? nil : before
    }
}

/// One lookup to run: `id` names it (an answer for a lookup of a name since deregistered, or looked up again, is
/// ignored), and the group whose registration of `name` it serves.
public struct NameLookupOrder: Equatable, Sendable {
    public let id: UInt64
    public let group: String
    public let name: HostPort
}

/// A lookup's answer recorded against its name: the name's state after it, and its phase before.
public struct NameAnswered: Equatable, Sendable {
    public let group: String
    public let name: HostPort
    public let answer: NameAnswer
    public let resolution: NameResolution
    /// The phase before this answer when it changed the phase; nil when the phase stayed.
    public let previousPhase: NameResolution.Phase?
}
