extension DemoRouter {
    static let maximumByteCount = 1 << 40
    static let byteChunkSize = 16 * 1024

    /// `GET /bytes?n=N[&chunked=1]`: N bytes of `BytePattern`, with Content-Length, or chunked in 16 KiB chunks.
    /// An HTTP/1.0 client cannot take chunked framing and gets Content-Length instead.
    func handleBytes(_ exchange: DemoExchange) throws {
        guard case .value(let count) = exchange.request.integerQuery("n", in: 0...Self.maximumByteCount) else {
            return try rejectQuery(exchange, "expected /bytes?n=N with 0 <= N <= \(Self.maximumByteCount)")
        }
        try exchange.drainBody()
        let headers = [("Content-Type", "application/octet-stream")]
        if exchange.request.flagQuery("chunked"), exchange.request.head.version == .http11 {
            try exchange.writeHead(status: 200, headers: headers, framing: .chunked)
            try writePattern(count: count, pieceSize: Self.byteChunkSize, exchange.writeChunk)
            try exchange.finishChunked()
        } else {
            try exchange.writeHead(status: 200, headers: headers, framing: .contentLength(count))
            try writePattern(count: count, pieceSize: BytePattern.maximumSliceLength, exchange.writeBody)
        }
    }

    /// Writes `count` pattern bytes from offset 0 in pieces of at most `pieceSize`.
    func writePattern(count: Int, pieceSize: Int, _ write: (UnsafeRawBufferPointer) throws -> Void) throws {
        var offset = 0
        while offset < count {
            let length = min(pieceSize, count - offset)
            try BytePattern.withSlice(offset: offset, count: length, write)
            offset += length
        }
    }
}
