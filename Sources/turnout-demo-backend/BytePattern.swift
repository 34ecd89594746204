/// The deterministic content of `/bytes` and `/abort`: byte i of a body is `i % 251`, so a client can check every
/// byte it receives (251 is prime, so the pattern never lines up with buffer or chunk sizes).
enum BytePattern {
    static let period = 251
    static let maximumSliceLength = 64 * 1024

    /// The pattern from offset 0, long enough that a slice of `maximumSliceLength` can start at any phase.
    private static let table: [UInt8] = (0..<(period + maximumSliceLength)).map { UInt8($0 % period) }

    /// Calls `body` with `count` (≤ `maximumSliceLength`) bytes of the pattern starting at body offset `offset`.
    static func withSlice<Result>(offset: Int, count: Int, _ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        precondition(count <= maximumSliceLength)
        let phase = offset % period
        return try table.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[phase..<(phase + count)])) }
    }

    /// The byte at body offset `offset`.
    static func byte(at offset: Int) -> UInt8 { UInt8(offset % period) }
}
