/// What a `ChunkedDecoder` found in the bytes it was given, and what the caller does next.
public enum ChunkedStep: Sendable, Equatable {
    /// All `consumed` bytes (the whole input) were framing; give more input.
    case needMore(consumed: Int)
    /// A chunk-size line (extensions dropped) was consumed; a chunk of `size` > 0 data bytes follows.
    case chunkStart(consumed: Int, size: UInt64)
    /// The first `count` bytes of the input are chunk data, not consumed: forward them, then `consumeData(count)`.
    case data(count: Int)
    /// The last chunk and the trailer section (dropped) were consumed; the body is complete.
    case end(consumed: Int)
    /// The framing is invalid (status 400; for a response body the proxy answers 502).
    case failed(HeadError)
}
