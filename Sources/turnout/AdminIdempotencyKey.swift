import TurnoutPosix

/// Random `Idempotency-Key` values: 128 bits from the kernel, as 32 lowercase hex digits.
enum AdminIdempotencyKey {
    static func generate() -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        bytes.withUnsafeMutableBytes { SystemRandom.fill($0) }
        let digits = Array("0123456789abcdef".unicodeScalars)
        var key = ""
        for byte in bytes {
            key.unicodeScalars.append(digits[Int(byte >> 4)])
            key.unicodeScalars.append(digits[Int(byte & 0x0F)])
        }
        return key
    }
}
