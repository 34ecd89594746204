/// Reads a request body of a given framing from a connection, streaming: bytes are handed over as they arrive
/// and never accumulated here.
struct RequestBodyReader {
    static let maximumChunkLineLength = 4096

    let stream: ConnectionStream
    let framing: RequestBodyFraming

    /// Reads the whole body, decoding chunked framing, and returns its length.
    func read(_ handle: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        switch framing {
        case .none:
            return 0
        case .contentLength(let length):
            try stream.consume(length, handle)
            return length
        case .chunked:
            var total = 0
            while true {
                let size = try Self.chunkSize(parsing: try stream.readLine(limit: Self.maximumChunkLineLength))
                if size == 0 { break }
                try stream.consume(size, handle)
                total += size
                guard try stream.readLine(limit: Self.maximumChunkLineLength).isEmpty else {
                    throw DemoHTTPError.badRequest("chunk data not followed by CRLF")
                }
            }
            // Trailer fields, if any, up to the empty line; they are read and dropped.
            while try !stream.readLine(limit: Self.maximumChunkLineLength).isEmpty {}
            return total
        }
    }

    /// Reads and discards the body.
    func drain() throws {
        _ = try read { _ in }
    }

    /// Parses a chunk-size line: hex digits, optionally followed by `;extensions`.
    static func chunkSize(parsing line: [UInt8]) throws -> Int {
        var size = 0
        var digits = 0
        for byte in line {
            let value: Int
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = Int(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = Int(byte - UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = Int(byte - UInt8(ascii: "A")) + 10
            case UInt8(ascii: ";"), UInt8(ascii: " "), UInt8(ascii: "\t"):
                guard digits > 0 else { throw DemoHTTPError.badRequest("malformed chunk size") }
                return size
            default:
                throw DemoHTTPError.badRequest("malformed chunk size")
            }
            digits += 1
            guard digits <= 15 else { throw DemoHTTPError.badRequest("chunk size too large") }
            size = size * 16 + value
        }
        guard digits > 0 else { throw DemoHTTPError.badRequest("malformed chunk size") }
        return size
    }
}
