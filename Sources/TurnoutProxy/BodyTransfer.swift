import TurnoutHTTP1

/// How much of a message body is left and how it is framed on the way out.
enum BodyTransfer {
    /// Nothing left to move.
    case done
    /// A Content-Length body with this many bytes to go.
    case length(UInt64)
    /// A chunked body, re-framed chunk by chunk (sizes normalised, extensions and
    /// trailers dropped). `reframe` false unwraps it (for HTTP/1.0 clients).
    case chunked(ChunkedDecoder, chunkOpen: Bool, reframe: Bool)
    /// Everything until the sender closes (responses without framing, tunnels).
    case untilClose

    init(framing: BodyFraming, reframeChunked: Bool = true) {
        switch framing {
        case .none: self = .done
        case .contentLength(let n): self = n == 0 ? .done : .length(n)
        case .chunked: self = .chunked(ChunkedDecoder(), chunkOpen: false, reframe: reframeChunked)
        case .untilClose: self = .untilClose
        }
    }

    var isDone: Bool {
        if case .done = self { return true }
        return false
    }

    /// What a splice may move next without passing through user space.
    enum SpliceSpan: Equatable {
        /// Nothing: framing comes next (or the body is complete), which must be decoded.
        case none
        /// Exactly this many bytes: the rest of a Content-Length body or of the current chunk's data.
        case bytes(UInt64)
        /// Everything until the sender closes.
        case untilClose
    }

    var spliceSpan: SpliceSpan {
        switch self {
        case .done: return .none
        case .length(let remaining): return .bytes(remaining)
        case .chunked(let decoder, _, _):
            // The decoder is inside a chunk's data exactly when some of it is still to come.
            return decoder.remainingInChunk > 0 ? .bytes(decoder.remainingInChunk) : .none
        case .untilClose: return .untilClose
        }
    }

    /// Records `count` bytes of the current span as moved by a splice (read from the source
    /// into the pipe). A Content-Length body stays `.length(0)` until the caller has drained the
    /// pipe and marks it done; a chunked body goes on with the CRLF after the chunk's data.
    mutating func recordSpliced(_ count: UInt64) {
        guard count > 0 else { return }
        switch self {
        case .length(let remaining):
            precondition(count <= remaining, "spliced past the end of the body")
            self = .length(remaining - count)
        case .chunked(var decoder, let chunkOpen, let reframe):
            decoder.consumeData(Int(count))
            self = .chunked(decoder, chunkOpen: chunkOpen, reframe: reframe)
        case .untilClose:
            break
        case .done:
            preconditionFailure("spliced bytes of a finished body")
        }
    }

    /// The outcome of one `move` call.
    enum Outcome: Equatable {
        case progressed
        case stalled
        case malformed(HeadError)
    }

    /// Moves body bytes from `source` (starting at the absolute index `cursor`) into
    /// `destination`, as far as input and output room allow.
    mutating func move(from source: IOBuffer, cursor: inout Int, to destination: IOBuffer) -> Outcome {
        var moved = false
        while true {
            switch self {
            case .done:
                return moved ? .progressed : .stalled
            case .untilClose:
                let n = min(source.writeIndex - cursor, destination.freeSpace)
                if n <= 0 { return moved ? .progressed : .stalled }
                destination.append(UnsafeRawBufferPointer(start: source.base + cursor, count: n))
                cursor += n
                moved = true
            case .length(let remaining):
                let n = Int(min(remaining, UInt64(min(source.writeIndex - cursor, destination.freeSpace))))
                if n <= 0 { return moved ? .progressed : .stalled }
                destination.append(UnsafeRawBufferPointer(start: source.base + cursor, count: n))
                cursor += n
                moved = true
                let left = remaining - UInt64(n)
                self = left == 0 ? .done : .length(left)
            case .chunked(var decoder, var chunkOpen, let reframe):
                // Room for the largest framing we emit: "\r\n" + 16 hex digits + "\r\n" + "0\r\n\r\n".
                if destination.freeSpace < 32 { return moved ? .progressed : .stalled }
                let step = decoder.decode(source.bytes(from: cursor))
                switch step {
                case .needMore(let consumed):
                    cursor += consumed
                    self = .chunked(decoder, chunkOpen: chunkOpen, reframe: reframe)
                    return (moved || consumed > 0) ? .progressed : .stalled
                case .chunkStart(let consumed, let size):
                    cursor += consumed
                    if reframe {
                        if chunkOpen { destination.append("\r\n") }
                        destination.appendHex(size)
                        destination.append("\r\n")
                    }
                    chunkOpen = true
                case .data(let count):
                    let n = min(count, destination.freeSpace)
                    destination.append(UnsafeRawBufferPointer(start: source.base + cursor, count: n))
                    decoder.consumeData(n)
                    cursor += n
                case .end(let consumed):
                    cursor += consumed
                    if reframe {
                        if chunkOpen { destination.append("\r\n") }
                        destination.append("0\r\n\r\n")
                    }
                    self = .done
                    return .progressed
                case .failed(let error):
                    return .malformed(error)
                }
                moved = true
                self = .chunked(decoder, chunkOpen: chunkOpen, reframe: reframe)
            }
        }
    }
}
