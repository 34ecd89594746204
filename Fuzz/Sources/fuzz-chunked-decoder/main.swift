import FuzzSupport
import TurnoutHTTP1

runLibFuzzer(fuzzChunkedDecoder)

/// libFuzzer entry point for `ChunkedDecoder`. Beyond not crashing, every input must keep these properties:
/// - the decoder never reports more than it was given: `consumed` and `.data` counts stay within the input,
///   `.needMore` consumed the whole input, `.data` stays within the current chunk;
/// - it always makes progress, and the data it reports is exactly what the size lines announced;
/// - a failure is a 400 and sticks;
/// - how the bytes arrive, and how much of each data span the caller moves at a time (a short write or splice),
///   changes nothing: the data spans, the end of the body and the error are the same as for the whole input at once.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzChunkedDecoder(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let atOnce = decode(input, arrival: max(input.count, 1)) { $0 }
    let arrival = 1 + Int(input.last ?? 0) % 16
    let inPieces = decode(input, arrival: arrival) { ($0 + 1) / 2 }
    check(atOnce == inPieces, "the outcome depends on how the bytes arrive")
    return 0
}

/// What a caller learns from a body: where its data is, where it ends, or why it failed.
private struct Outcome: Equatable {
    /// Data spans as offsets into the input, adjacent spans joined.
    var data: [Range<Int>] = []
    var end: Int?
    var error: HeadError?

    mutating func add(_ span: Range<Int>) {
        if let last = data.last, last.upperBound == span.lowerBound {
            data[data.count - 1] = last.lowerBound..<span.upperBound
        } else {
            data.append(span)
        }
    }
}

/// Feeds `input` to a decoder as a receive buffer filled `arrival` bytes at a time; of every `.data(count)` the
/// caller moves `take(count)` bytes.
private func decode(_ input: UnsafeRawBufferPointer, arrival: Int, take: (Int) -> Int) -> Outcome {
    var decoder = ChunkedDecoder()
    var outcome = Outcome()
    var position = 0
    var received = min(arrival, input.count)
    var announced: UInt64 = 0
    var delivered: UInt64 = 0
    // Every step consumes a byte, or the next step does (after `.chunkStart`), or more input arrives.
    for _ in 0...(3 * input.count + 3) {
        let window = UnsafeRawBufferPointer(rebasing: input[position..<received])
        let step = withExactCopy(window) { decoder.decode($0) }
        switch step {
        case .needMore(let consumed):
            check(consumed == window.count, "needMore without consuming the whole input")
            position += consumed
            if received == input.count { return outcome }
            received = min(received + arrival, input.count)
        case .chunkStart(let consumed, let size):
            check(consumed > 0 && consumed <= window.count, "chunkStart consumed beyond the input")
            check(size > 0 && decoder.remainingInChunk == size, "chunkStart size")
            announced += size
            position += consumed
        case .data(let count):
            check(count > 0 && count <= window.count, "data beyond the input")
            check(UInt64(count) <= decoder.remainingInChunk, "data beyond the chunk")
            let moved = take(count)
            outcome.add(position..<(position + moved))
            decoder.consumeData(moved)
            delivered += UInt64(moved)
            position += moved
        case .end(let consumed):
            check(consumed > 0 && consumed <= window.count, "end consumed beyond the input")
            check(decoder.isComplete && delivered == announced, "the data is not what the sizes announced")
            outcome.end = position + consumed
            return outcome
        case .failed(let error):
            check(error.status == 400, "chunked framing failure other than 400")
            check(decoder.decode(UnsafeRawBufferPointer(start: nil, count: 0)) == step, "failure not sticky")
            outcome.error = error
            return outcome
        }
    }
    fatalError("property broken: the decoder made no progress")
}
