/// Reading, comparing and trimming spans of a receive buffer without copying.
extension UnsafeRawBufferPointer {
    /// The bytes of `range`, without copying.
    @inlinable
    public func slice(_ range: ByteRange) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: self[range.lowerBound..<range.upperBound])
    }

    /// Whether these bytes are exactly `other`'s.
    public func equals(_ other: UnsafeRawBufferPointer) -> Bool {
        guard count == other.count else { return false }
        for index in 0..<count where self[index] != other[index] {
            return false
        }
        return true
    }

    /// Whether these bytes are exactly `literal`.
    func equals(_ literal: StaticString) -> Bool {
        guard count == literal.utf8CodeUnitCount else { return false }
        let expected = literal.utf8Start
        for index in 0..<count where self[index] != expected[index] {
            return false
        }
        return true
    }

    /// Whether these bytes equal the lowercase ASCII `literal`, ignoring ASCII case.
    public func equalsIgnoringCase(_ lowercaseLiteral: StaticString) -> Bool {
        guard count == lowercaseLiteral.utf8CodeUnitCount else { return false }
        let expected = lowercaseLiteral.utf8Start
        for index in 0..<count where ASCII.lowercased(self[index]) != expected[index] {
            return false
        }
        return true
    }

    /// Whether these bytes equal `other`, ignoring ASCII case.
    public func equalsIgnoringCase(_ other: UnsafeRawBufferPointer) -> Bool {
        guard count == other.count else { return false }
        for index in 0..<count where ASCII.lowercased(self[index]) != ASCII.lowercased(other[index]) {
            return false
        }
        return true
    }

    /// The range `lowerBound..<upperBound` without leading and trailing SP/HTAB.
    func trimmingWhitespace(_ lowerBound: Int, _ upperBound: Int) -> ByteRange {
        var first = lowerBound
        var end = upperBound
        while first < end, ASCII.isWhitespace(self[first]) { first += 1 }
        while end > first, ASCII.isWhitespace(self[end - 1]) { end -= 1 }
        return ByteRange(first, end)
    }

    /// Whether every byte is a token byte (and there is at least one).
    func isToken() -> Bool {
        guard !isEmpty else { return false }
        for byte in self where !ASCII.isToken(byte) {
            return false
        }
        return true
    }
}
