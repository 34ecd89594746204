/// Incremental decoder of chunked framing (RFC 9112 §7.1) that never holds or copies data bytes.
///
/// The decoder consumes only framing: size lines, the CRLF after each chunk, the last chunk and the trailer
/// section. Data is reported by count (`.data`) and the caller moves it (copy, or splice straight between
/// sockets without reading it) and reports it with `consumeData(_:)`; `remainingInChunk` says how much of the
/// current chunk is still to come. The caller decides what happens to consumed framing: forward it verbatim, or
/// drop it (sending data unframed to an HTTP/1.0 client).
///
/// Strict: sizes are hex digits with at most 63 significant bits, optionally followed by `;` extensions
/// (whitespace is allowed only before `;`); lines end in CRLF; a size line may not be longer than
/// `maxSizeLineBytes` nor the trailer section than `maxTrailerBytes`.
public struct ChunkedDecoder: Sendable {
    /// Longest chunk-size line accepted, extensions included, CRLF excluded.
    public static let maxSizeLineBytes = 4096
    /// Largest trailer section accepted: every trailer line and the final CRLF (the last-chunk line not counted).
    public static let maxTrailerBytes = 16384

    private enum State: UInt8, Sendable {
        case sizeStart, size, sizeWhitespace, sizeExtension, sizeLF
        case data, dataCR, dataLF
        case trailerLineStart, trailerLine, trailerLF, endLF
        case done, failed
    }

    private var state = State.sizeStart
    private var chunkSize: UInt64 = 0
    private var lineBytes = 0
    private var trailerBytes = 0
    private var failure = HeadError(status: 400, reason: "invalid chunked framing")
    /// Data bytes of the current chunk not yet passed to `consumeData`.
    public private(set) var remainingInChunk: UInt64 = 0

    public init() {}

    /// Starts over for the next body.
    public mutating func reset() {
        self = ChunkedDecoder()
    }

    /// Whether the last chunk and trailers have been consumed.
    public var isComplete: Bool { state == .done }

    /// Consumes framing from the start of `bytes`; returns what the caller must do next.
    /// Inside a chunk's data it consumes nothing and returns `.data` (or `.needMore(consumed: 0)` for no input).
    public mutating func decode(_ bytes: UnsafeRawBufferPointer) -> ChunkedStep {
        switch state {
        case .data:
            guard !bytes.isEmpty else { return .needMore(consumed: 0) }
            return .data(count: Int(min(remainingInChunk, UInt64(bytes.count))))
        case .done:
            return .end(consumed: 0)
        case .failed:
            return .failed(failure)
        default:
            break
        }

        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch state {
            case .sizeStart:
                guard let digit = ASCII.hexValue(byte) else { return fail("invalid chunk size") }
                chunkSize = UInt64(digit)
                lineBytes = 1
                state = .size
            case .size:
                if byte == ASCII.cr {
                    state = .sizeLF
                } else if let digit = ASCII.hexValue(byte) {
                    // At most 2^63 - 1: one more digit must not push past 63 bits.
                    guard chunkSize >> 59 == 0 else { return fail("chunk size too large") }
                    chunkSize = chunkSize << 4 | UInt64(digit)
                    lineBytes += 1
                } else if byte == ASCII.semicolon {
                    state = .sizeExtension
                    lineBytes += 1
                } else if ASCII.isWhitespace(byte) {
                    state = .sizeWhitespace
                    lineBytes += 1
                } else {
                    return fail(byte == ASCII.lf ? "bare LF in chunk size line" : "invalid chunk size")
                }
            case .sizeWhitespace:
                lineBytes += 1
                if byte == ASCII.semicolon {
                    state = .sizeExtension
                } else if !ASCII.isWhitespace(byte) {
                    return fail("invalid chunk size")
                }
            case .sizeExtension:
                if byte == ASCII.cr {
                    state = .sizeLF
                } else if ASCII.isFieldValueByte(byte) {
                    lineBytes += 1
                } else {
                    return fail(byte == ASCII.lf ? "bare LF in chunk size line" : "invalid byte in chunk extension")
                }
            case .sizeLF:
                guard byte == ASCII.lf else { return fail("bare CR in chunk size line") }
                if chunkSize == 0 {
                    trailerBytes = 0
                    state = .trailerLineStart
                } else {
                    remainingInChunk = chunkSize
                    state = .data
                    return .chunkStart(consumed: index, size: chunkSize)
                }
            case .dataCR:
                guard byte == ASCII.cr else { return fail("missing CRLF after chunk data") }
                state = .dataLF
            case .dataLF:
                guard byte == ASCII.lf else { return fail("missing CRLF after chunk data") }
                state = .sizeStart
            case .trailerLineStart:
                trailerBytes += 1
                if byte == ASCII.cr {
                    state = .endLF
                } else if byte == ASCII.lf || byte == 0 {
                    return fail("invalid trailer line")
                } else {
                    state = .trailerLine
                }
            case .trailerLine:
                trailerBytes += 1
                if byte == ASCII.cr {
                    state = .trailerLF
                } else if byte == ASCII.lf || byte == 0 {
                    return fail("invalid trailer line")
                }
            case .trailerLF:
                trailerBytes += 1
                guard byte == ASCII.lf else { return fail("bare CR in trailer") }
                state = .trailerLineStart
            case .endLF:
                guard byte == ASCII.lf else { return fail("bare CR in trailer") }
                trailerBytes += 1
                if trailerBytes > Self.maxTrailerBytes { return fail("trailer section too large") }
                state = .done
                return .end(consumed: index)
            case .data, .done, .failed:
                preconditionFailure("handled before the loop")
            }
            if lineBytes > Self.maxSizeLineBytes { return fail("chunk size line too long") }
            if trailerBytes > Self.maxTrailerBytes { return fail("trailer section too large") }
        }
        return .needMore(consumed: bytes.count)
    }

    /// Records that the caller forwarded `count` data bytes of the current chunk.
    public mutating func consumeData(_ count: Int) {
        precondition(
            state == .data && count >= 0 && UInt64(count) <= remainingInChunk,
            "consumeData beyond the current chunk")
        remainingInChunk -= UInt64(count)
        if remainingInChunk == 0 {
            state = .dataCR
        }
    }

    private mutating func fail(_ reason: StaticString) -> ChunkedStep {
        failure = HeadError(status: 400, reason: reason)
        state = .failed
        return .failed(failure)
    }
}

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
