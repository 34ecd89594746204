import Glibc

/// An address block (`10.0.0.0/8`, `2001:db8::/32`, or one address) for a rule's `source` condition. IPv4 is
/// held as IPv4-mapped IPv6 (`::ffff:a.b.c.d`), so one 128-bit comparison covers both families, and an IPv4 block
/// also matches a client that reached a dual-stack socket.
public struct SourceCIDR: Sendable, Hashable, CustomStringConvertible {
    /// The block's first address, big-endian halves of the 128-bit (mapped) address.
    public let high: UInt64
    public let low: UInt64
    /// Leading bits that must be equal, 0...128 (an IPv4 `/n` is `96 + n`).
    public let prefixLength: Int
    /// As written, normalised to `address/length`.
    public let description: String

    /// Parses `a.b.c.d[/n]` or an IPv6 address `[/n]`; nil when it is neither, or the length is out of range.
    public static func parse(_ text: String) -> SourceCIDR? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2 else { return nil }
        let address = String(parts[0])
        var bytes = [UInt8](repeating: 0, count: 16)
        let isIPv4: Bool
        if address.contains(":") {
            guard inet_pton(AF_INET6, address, &bytes) == 1 else { return nil }
            isIPv4 = false
        } else {
            var four = [UInt8](repeating: 0, count: 4)
            guard HostPort.isIPv4Literal(Substring(address)), inet_pton(AF_INET, address, &four) == 1 else { return nil }
            bytes[10] = 0xff
            bytes[11] = 0xff
            bytes.replaceSubrange(12..<16, with: four)
            isIPv4 = true
        }
        let maximum = isIPv4 ? 32 : 128
        var length = maximum
        if parts.count == 2 {
            guard let given = Int(parts[1]), (0...maximum).contains(given), parts[1].utf8.count <= 3 else { return nil }
            length = given
        }
        let (high, low) = Self.halves(bytes)
        let mapped = isIPv4 ? 96 + length : length
        let masked = Self.mask(high: high, low: low, prefixLength: mapped)
        return SourceCIDR(high: masked.high, low: masked.low, prefixLength: mapped, description: "\(address)/\(length)")
    }

    private init(high: UInt64, low: UInt64, prefixLength: Int, description: String) {
        self.high = high
        self.low = low
        self.prefixLength = prefixLength
        self.description = description
    }

    /// Whether the address (halves as `high` and `low` hold them) is in the block.
    @inline(__always)
    public func contains(high: UInt64, low: UInt64) -> Bool {
        let masked = Self.mask(high: high, low: low, prefixLength: prefixLength)
        return masked.high == self.high && masked.low == self.low
    }

    /// The address with the bits after the first `prefixLength` cleared.
    @inlinable
    public static func mask(high: UInt64, low: UInt64, prefixLength: Int) -> (high: UInt64, low: UInt64) {
        if prefixLength >= 128 { return (high, low) }
        if prefixLength <= 0 { return (0, 0) }
        if prefixLength <= 64 {
            return (prefixLength == 64 ? high : high & ~(UInt64.max >> UInt64(prefixLength)), 0)
        }
        return (high, low & ~(UInt64.max >> UInt64(prefixLength - 64)))
    }

    /// Big-endian halves of 16 address bytes.
    public static func halves(_ bytes: some Collection<UInt8>) -> (high: UInt64, low: UInt64) {
        var high: UInt64 = 0, low: UInt64 = 0
        for (index, byte) in bytes.enumerated() {
            if index < 8 { high = high << 8 | UInt64(byte) } else { low = low << 8 | UInt64(byte) }
        }
        return (high, low)
    }
}
