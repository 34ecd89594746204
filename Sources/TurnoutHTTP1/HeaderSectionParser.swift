/// Parses the field lines of a head (RFC 9112 §5) into a `HeaderFieldTable`, shared by requests and responses.
enum HeaderSectionParser {
    /// Statuses for the ways a header section fails: 400/431 for requests, 502 for both on responses.
    struct Statuses {
        var malformed: UInt16
        var tooMany: UInt16
    }

    /// Parses the lines from `start` up to the empty line that ends at `boundaryEnd`. Every line is known to end
    /// in CRLF (the boundary scan checked it). Fills `fields` (emptied first) and `facts`.
    static func parse(
        _ bytes: UnsafeRawBufferPointer, from start: Int, boundaryEnd: Int, maxFields: Int,
        fields: HeaderFieldTable, statuses: Statuses, facts: inout HeaderFacts
    ) -> HeadError? {
        fields.removeAll()
        let fieldLimit = min(maxFields, fields.capacity)
        let sectionEnd = boundaryEnd - 2  // the final empty line
        var lineStart = start
        while lineStart < sectionEnd {
            var lineEnd = lineStart
            while bytes[lineEnd] != ASCII.cr { lineEnd += 1 }

            let first = bytes[lineStart]
            if ASCII.isWhitespace(first) {
                return HeadError(status: statuses.malformed, reason: "obs-fold or leading whitespace in field line")
            }
            var colon = lineStart
            while colon < lineEnd {
                let byte = bytes[colon]
                if byte == ASCII.colon { break }
                if ASCII.isWhitespace(byte) {
                    return HeadError(status: statuses.malformed, reason: "whitespace before colon")
                }
                guard ASCII.isToken(byte) else {
                    return HeadError(status: statuses.malformed, reason: "invalid byte in field name")
                }
                colon += 1
            }
            guard colon < lineEnd else {
                return HeadError(status: statuses.malformed, reason: "field line without colon")
            }
            guard colon > lineStart else {
                return HeadError(status: statuses.malformed, reason: "empty field name")
            }
            for index in (colon + 1)..<lineEnd where !ASCII.isFieldValueByte(bytes[index]) {
                return HeadError(status: statuses.malformed, reason: "invalid byte in field value")
            }
            guard fields.count < fieldLimit else {
                return HeadError(status: statuses.tooMany, reason: "too many header fields")
            }

            let name = ByteRange(lineStart, colon)
            let value = bytes.trimmingWhitespace(colon + 1, lineEnd)
            let kind = KnownHeader.recognise(bytes.slice(name))
            let index = fields.count
            _ = fields.append(HeaderField(name: name, value: value, kind: kind, isHopByHop: kind.isAlwaysHopByHop))
            if let error = facts.record(kind, value: value, index: index, in: bytes, malformed: statuses.malformed) {
                return error
            }
            lineStart = lineEnd + 2
        }
        if facts.connection.namesOtherFields {
            ConnectionOptions.markNominatedFields(in: fields, source: bytes)
        }
        return nil
    }
}
