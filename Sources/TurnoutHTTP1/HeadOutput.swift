/// Appends bytes to a caller's buffer (the head writers', and the proxy's own answers'); once something does not fit, every later write is ignored and `finish`
/// returns nil.
public struct HeadOutput {
    private let buffer: UnsafeMutableRawBufferPointer
    private var position = 0
    private var overflowed = false

    public init(_ buffer: UnsafeMutableRawBufferPointer) {
        self.buffer = buffer
    }

    /// Bytes written, or nil if the output did not fit.
    public func finish() -> Int? {
        overflowed ? nil : position
    }

    public mutating func write(_ bytes: UnsafeRawBufferPointer) {
        guard !overflowed, !bytes.isEmpty else { return }
        guard bytes.count <= buffer.count - position, let base = buffer.baseAddress else {
            overflowed = true
            return
        }
        (base + position).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        position += bytes.count
    }

    public mutating func write(_ literal: StaticString) {
        write(UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    public mutating func write(byte: UInt8) {
        guard !overflowed else { return }
        guard position < buffer.count else {
            overflowed = true
            return
        }
        buffer[position] = byte
        position += 1
    }

    /// Writes `value` in decimal.
    public mutating func write(decimal value: UInt64) {
        var divisor: UInt64 = 1
        while value / divisor >= 10 { divisor *= 10 }
        while divisor > 0 {
            write(byte: UInt8(ascii: "0") + UInt8((value / divisor) % 10))
            divisor /= 10
        }
    }

    /// Writes `Name: value` CRLF with the name and value taken from `source`.
    mutating func writeField(_ field: HeaderField, from source: UnsafeRawBufferPointer) {
        write(source.slice(field.name))
        write(": ")
        write(source.slice(field.value))
        write("\r\n")
    }

    /// Writes a Content-Length field with the original name and the parsed value, so an accepted list of
    /// identical values (`5, 5`) goes out as one value. The value was validated by the parser.
    mutating func writeContentLength(_ field: HeaderField, from source: UnsafeRawBufferPointer) {
        write(source.slice(field.name))
        write(": ")
        write(decimal: ContentLengthValue.parse(source.slice(field.value)) ?? 0)
        write("\r\n")
    }

    /// Writes the fields of `kind` verbatim, in order.
    mutating func writeFields(
        of kind: KnownHeader, in fields: HeaderFieldTable, from source: UnsafeRawBufferPointer
    ) {
        for index in 0..<fields.count where fields[index].kind == kind {
            writeField(fields[index], from: source)
        }
    }

    /// Writes `version SP proxy-name` as a Via element for a message received as `version`.
    mutating func writeViaElement(receivedAs version: HTTPVersion) {
        write(version == .http10 ? "1.0 turnout" : "1.1 turnout")
    }
}
