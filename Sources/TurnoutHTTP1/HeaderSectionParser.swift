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
            if ASCII.isWhitespace(bytes[lineStart]) {
                return HeadError(status: statuses.malformed, reason: "obs-fold or leading whitespace in field line")
            }
            // One pass over the line: the name up to the colon, then the value up to its CR (every line ends in
            // CRLF, so the scans stop at the latest there).
            var colon = lineStart
            while true {
                let byte = bytes[colon]
                if ASCII.isToken(byte) {
                    colon += 1
                    continue
                }
                if byte == ASCII.colon { break }
                if byte == ASCII.cr {
                    return HeadError(status: statuses.malformed, reason: "field line without colon")
                }
                if ASCII.isWhitespace(byte) {
                    return HeadError(status: statuses.malformed, reason: "whitespace before colon")
                }
                return HeadError(status: statuses.malformed, reason: "invalid byte in field name")
            }
            guard colon > lineStart else {
                return HeadError(status: statuses.malformed, reason: "empty field name")
            }
            var lineEnd = colon + 1
            while true {
                lineEnd = WordScan.firstControl(bytes, from: lineEnd, to: sectionEnd)
                let byte = bytes[lineEnd]
                if byte == ASCII.cr { break }
                guard byte == ASCII.htab else {
                    return HeadError(status: statuses.malformed, reason: "invalid byte in field value")
                }
                lineEnd += 1
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
