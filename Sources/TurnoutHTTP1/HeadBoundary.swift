/// Where a head starts and ends in the received bytes, found by one scan that also rejects bare CR and bare LF.
struct HeadBoundary {
    /// Offset of the start line (after any skipped empty lines).
    var start: Int
    /// Offset one past the final CRLFCRLF.
    var end: Int

    enum Search {
        case incomplete
        case found(HeadBoundary)
        case failed(HeadError)
    }

    /// Finds the end of the head in `bytes`.
    ///
    /// - Parameters:
    ///   - emptyLinesAllowed: how many CRLFs before the start line are skipped (RFC 9112 §2.2 lets a server
    ///     ignore at least one); one more empty line is an error.
    ///   - maxBytes: the head, counted from offset 0, may not be longer; passing it fails with `tooLarge`
    ///     as soon as more bytes than that are present without a complete head.
    ///   - malformed: the status for bare CR/LF and empty start lines (400 or 502).
    ///   - tooLarge: the status for passing `maxBytes` (431 or 502).
    static func search(
        _ bytes: UnsafeRawBufferPointer, emptyLinesAllowed: Int, maxBytes: Int, malformed: UInt16, tooLarge: UInt16
    ) -> Search {
        let available = bytes.count
        var start = 0
        var skipped = 0
        while skipped < emptyLinesAllowed, start < available, bytes[start] == ASCII.cr {
            guard start + 1 < available else { break }  // CR alone: the scan below waits for its LF
            guard bytes[start + 1] == ASCII.lf else {
                return .failed(HeadError(status: malformed, reason: "bare CR in head"))
            }
            start += 2
            skipped += 1
        }

        let window = min(available, maxBytes)
        var lineStart = start
        var index = start
        while index < window {
            index = WordScan.firstLineBreak(bytes, from: index, to: window)
            guard index < window else { break }
            if bytes[index] == ASCII.cr {
                guard index + 1 < available else { return .incomplete }
                guard bytes[index + 1] == ASCII.lf else {
                    return .failed(HeadError(status: malformed, reason: "bare CR in head"))
                }
                if index == lineStart {
                    guard index != start else {
                        return .failed(HeadError(status: malformed, reason: "empty start line"))
                    }
                    let end = index + 2
                    guard end <= maxBytes else {
                        return .failed(HeadError(status: tooLarge, reason: "head too large"))
                    }
                    return .found(HeadBoundary(start: start, end: end))
                }
                index += 2
                lineStart = index
                continue
            }
            return .failed(HeadError(status: malformed, reason: "bare LF in head"))
        }
        if available > maxBytes {
            return .failed(HeadError(status: tooLarge, reason: "head too large"))
        }
        return .incomplete
    }
}
