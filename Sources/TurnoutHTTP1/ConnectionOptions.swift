/// The connection options named by the Connection fields of a message (RFC 9110 §7.6.1).
struct ConnectionOptions {
    var close = false
    var keepAlive = false
    var upgrade = false
    /// Some option names another field, which then must not be forwarded.
    var namesOtherFields = false

    /// Reads one Connection field value; false when an element is not a token.
    mutating func add(_ value: UnsafeRawBufferPointer) -> Bool {
        var elements = FieldListElements(value)
        while let option = elements.next() {
            guard option.isToken() else { return false }
            if option.equalsIgnoringCase("close") {
                close = true
            } else if option.equalsIgnoringCase("keep-alive") {
                keepAlive = true
            } else if option.equalsIgnoringCase("upgrade") {
                upgrade = true
            } else {
                namesOtherFields = true
            }
        }
        return true
    }

    /// Marks every field named by a Connection option (other than close, keep-alive and upgrade) as
    /// hop-by-hop, comparing names case-insensitively. Host and Content-Length are never marked: dropping
    /// them on a client's say-so would change where and how the body is framed upstream.
    static func markNominatedFields(in fields: HeaderFieldTable, source: UnsafeRawBufferPointer) {
        for connectionIndex in 0..<fields.count where fields[connectionIndex].kind == .connection {
            var elements = FieldListElements(source.slice(fields[connectionIndex].value))
            while let option = elements.next() {
                if option.equalsIgnoringCase("close") || option.equalsIgnoringCase("keep-alive")
                    || option.equalsIgnoringCase("upgrade")
                {
                    continue
                }
                for index in 0..<fields.count {
                    let field = fields[index]
                    guard !field.isHopByHop, field.kind != .host, field.kind != .contentLength else { continue }
                    if source.slice(field.name).equalsIgnoringCase(option) {
                        fields.markHopByHop(index)
                    }
                }
            }
        }
    }
}
