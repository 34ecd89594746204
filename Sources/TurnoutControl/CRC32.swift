/// CRC-32 as used by zlib, PNG and Ethernet (IEEE 802.3, reflected polynomial 0xEDB88320),
/// table-driven. Guards the state file against torn or edited payloads; not a security measure.
public struct CRC32: Sendable {
    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 {
            value = value & 1 == 1 ? (value >> 1) ^ 0xEDB8_8320 : value >> 1
        }
        return value
    }

    private var register: UInt32 = 0xFFFF_FFFF

    /// A fresh checksum over no bytes.
    public init() {}

    /// Feeds `bytes` into the checksum.
    public mutating func update(_ bytes: some Sequence<UInt8>) {
        var crc = register
        Self.table.withUnsafeBufferPointer { table in
            for byte in bytes {
                crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
            }
        }
        register = crc
    }

    /// The checksum of everything fed so far.
    public var value: UInt32 { register ^ 0xFFFF_FFFF }

    /// The checksum of `bytes`.
    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc = CRC32()
        crc.update(bytes)
        return crc.value
    }

    /// `value` as eight lowercase hex digits, the form the state file stores.
    public static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }
}
