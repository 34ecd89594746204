/// Content-Length values (RFC 9110 §8.6).
enum ContentLengthValue {
    /// The largest length accepted, so lengths fit an `Int64` everywhere they are used.
    static let maximum = UInt64(Int64.max)

    /// Parses a value of digits; a list of identical values (`5, 5`) is accepted as that value, as RFC 9110
    /// §8.6 allows. Nil for an empty value, empty elements, non-digits, differing values or a length above
    /// `maximum`.
    static func parse(_ value: UnsafeRawBufferPointer) -> UInt64? {
        var result: UInt64?
        var index = 0
        while true {
            let elementStart = index
            while index < value.count, value[index] != ASCII.comma { index += 1 }
            let element = value.trimmingWhitespace(elementStart, index)
            guard !element.isEmpty, let length = parseDigits(value.slice(element)) else { return nil }
            if let previous = result, previous != length { return nil }
            result = length
            if index == value.count { return result }
            index += 1
        }
    }

    private static func parseDigits(_ digits: UnsafeRawBufferPointer) -> UInt64? {
        var length: UInt64 = 0
        for byte in digits {
            guard ASCII.isDigit(byte) else { return nil }
            let digit = UInt64(byte &- UInt8(ascii: "0"))
            guard length <= (maximum - digit) / 10 else { return nil }
            length = length * 10 + digit
        }
        return length
    }
}
