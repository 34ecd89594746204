/// Complete error responses the proxy sends itself, with a short text body and `Connection: close`:
///
///     HTTP/1.1 502 Bad Gateway
///     Content-Type: text/plain
///     Content-Length: 16
///     Connection: close
///
///     502 Bad Gateway
public enum ErrorResponse {
    /// Statuses with a prepared response; any other status gets the 500 response.
    public static let statuses: [UInt16] = [400, 408, 413, 417, 431, 501, 502, 503, 504, 505]

    /// The full response (head and body) for `status`. The responses are written once, at the first call, into
    /// one block of memory that is never freed: later calls build and allocate nothing, and the bytes stay valid
    /// for the process lifetime.
    public static func bytes(status: UInt16) -> UnsafeRawBufferPointer {
        var index = 0
        while index < statuses.count, statuses[index] != status { index += 1 }
        return prepared.block.slice(prepared.ranges[index])
    }

    /// Room for one response; the longest (431) takes 149 bytes.
    private static let slotSize = 192

    /// The responses for `statuses`, in order, then the 500 response, each in a slot of `block`. Immutable once
    /// written.
    private nonisolated(unsafe) static let prepared: (block: UnsafeRawBufferPointer, ranges: [ByteRange]) = {
        let count = statuses.count + 1
        let block = UnsafeMutableRawBufferPointer.allocate(byteCount: slotSize * count, alignment: 1)
        var ranges: [ByteRange] = []
        ranges.reserveCapacity(count)
        for index in 0..<count {
            let start = index * slotSize
            let slot = UnsafeMutableRawBufferPointer(rebasing: block[start..<(start + slotSize)])
            guard let written = write(status: index < statuses.count ? statuses[index] : 500, into: slot) else {
                preconditionFailure("an error response is longer than its slot")
            }
            ranges.append(ByteRange(start, start + written))
        }
        return (UnsafeRawBufferPointer(block), ranges)
    }()

    /// Writes the response for `status` (three digits); the bytes written, or nil when they do not fit.
    private static func write(status: UInt16, into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        let phrase = ReasonPhrase.of(Int(status))
        var output = HeadOutput(buffer)
        output.write("HTTP/1.1 ")
        output.write(decimal: UInt64(status))
        output.write(byte: ASCII.space)
        output.write(phrase)
        output.write("\r\nContent-Type: text/plain\r\nContent-Length: ")
        output.write(decimal: UInt64(phrase.utf8CodeUnitCount + 5))  // the body: status, space, phrase, LF
        output.write("\r\nConnection: close\r\n\r\n")
        output.write(decimal: UInt64(status))
        output.write(byte: ASCII.space)
        output.write(phrase)
        output.write(byte: ASCII.lf)
        return output.finish()
    }
}
