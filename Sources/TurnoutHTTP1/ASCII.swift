/// Byte constants and classes of RFC 9110/9112 grammar, without `Character` or `String`.
enum ASCII {
    static let htab: UInt8 = 0x09
    static let lf: UInt8 = 0x0A
    static let cr: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let comma: UInt8 = 0x2C
    static let colon: UInt8 = 0x3A
    static let semicolon: UInt8 = 0x3B

    /// `tchar` (RFC 9110 §5.6.2): the bytes of methods, header names and list tokens: letters, digits and
    /// ``!#$%&'*+-.^_`|~``, as one bit per byte below 0x80 (`ASCIITests` checks the bits against that list).
    @inline(__always)
    static func isToken(_ byte: UInt8) -> Bool {
        let bits = byte < 64 ? tokenBitsBelow64 : (byte < 128 ? tokenBitsFrom64 : 0)
        return (bits &>> UInt64(byte & 63)) & 1 != 0
    }

    private static let tokenBitsBelow64: UInt64 = 0x03FF_6CFA_0000_0000
    private static let tokenBitsFrom64: UInt64 = 0x57FF_FFFF_C7FF_FFFE

    /// Optional whitespace (OWS): SP or HTAB.
    @inline(__always)
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == space || byte == htab
    }

    /// A byte allowed inside a field value or reason phrase: HTAB, SP, VCHAR, obs-text. NUL, CR, LF, other
    /// controls and DEL are not.
    @inline(__always)
    static func isFieldValueByte(_ byte: UInt8) -> Bool {
        byte == htab || (byte >= 0x20 && byte != 0x7F)
    }

    /// A byte allowed in a request target: visible US-ASCII (no controls, no space, no DEL, nothing >= 0x80).
    @inline(__always)
    static func isTargetByte(_ byte: UInt8) -> Bool {
        byte > 0x20 && byte < 0x7F
    }

    @inline(__always)
    static func isDigit(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10
    }

    /// The value of a hexadecimal digit, or nil.
    @inline(__always)
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte &- UInt8(ascii: "A") &+ 10
        default: return nil
        }
    }

    @inline(__always)
    static func lowercased(_ byte: UInt8) -> UInt8 {
        byte &- UInt8(ascii: "A") < 26 ? byte | 0x20 : byte
    }
}
