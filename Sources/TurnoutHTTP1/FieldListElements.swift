/// The elements of a comma-separated field value (RFC 9110 §5.6.1), OWS-trimmed, empty elements skipped.
/// Quoted strings are not special: none of the lists Turnout reads (Connection, Transfer-Encoding,
/// Content-Length) carry commas inside quotes that matter to framing.
struct FieldListElements {
    let bytes: UnsafeRawBufferPointer
    private var position = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// The next non-empty element, or nil at the end of the value.
    mutating func next() -> UnsafeRawBufferPointer? {
        while position < bytes.count {
            let elementStart = position
            while position < bytes.count, bytes[position] != ASCII.comma { position += 1 }
            let element = bytes.trimmingWhitespace(elementStart, position)
            position += 1  // past the comma (or the end)
            if !element.isEmpty { return bytes.slice(element) }
        }
        return nil
    }
}
