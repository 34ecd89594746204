/// A span of bytes inside the buffer a head was parsed from, as offsets from the buffer's first byte.
///
/// Parsed heads never copy bytes: names, values and targets are ranges into the connection's receive buffer,
/// valid for as long as that buffer holds the head.
public struct ByteRange: Sendable, Equatable {
    /// Offset of the first byte.
    public var start: Int32
    /// Number of bytes.
    public var count: Int32

    public init(start: Int32, count: Int32) {
        self.start = start
        self.count = count
    }

    /// The range `lowerBound..<upperBound`.
    @inlinable
    public init(_ lowerBound: Int, _ upperBound: Int) {
        self.start = Int32(lowerBound)
        self.count = Int32(upperBound - lowerBound)
    }

    /// Offset of the first byte, as `Int`.
    @inlinable public var lowerBound: Int { Int(start) }
    /// Offset one past the last byte, as `Int`.
    @inlinable public var upperBound: Int { Int(start) + Int(count) }
    /// Whether the range holds no bytes.
    @inlinable public var isEmpty: Bool { count == 0 }
}
