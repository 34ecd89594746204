import TurnoutHTTP1
import TurnoutPosix

/// Why an exchange ends early.
enum DemoExchangeError: Error {
    /// The peer closed (or reset) the connection; nothing more can be sent.
    case connectionClosed
    /// TurnoutHTTP1 refused the request's head or its chunked framing: answer the status and close.
    case refused(HeadError)
}

/// A blocking socket with a receive buffer and a send buffer. Request heads, body bytes and WebSocket frames are
/// all read through the receive buffer, so bytes that arrive early (pipelined requests, frames right after the
/// upgrade) are never lost; a response's head and small body are queued in the send buffer and go out in one write.
final class ConnectionStream {
    let descriptor: Int32
    /// Received bytes not consumed yet are `input[start..<end]`.
    private let input: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    /// Bytes queued for the next `flush`. Its storage is kept between responses (up to `retainedOutputCapacity`),
    /// so queueing a response allocates nothing once the connection is warm.
    var output: [UInt8] = []
    static let retainedOutputCapacity = 64 * 1024

    init(descriptor: Int32, receiveCapacity: Int) {
        self.descriptor = descriptor
        input = .allocate(byteCount: receiveCapacity, alignment: 16)
        output.reserveCapacity(4096)
    }

    deinit {
        input.deallocate()
    }

    /// The received bytes not consumed yet.
    var buffered: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: input[start..<end]) }

    /// Marks the first `count` buffered bytes as consumed.
    func consume(_ count: Int) {
        start += count
        if start == end {
            start = 0
            end = 0
        }
    }

    /// Waits for more bytes and appends them to the buffer, first moving the unconsumed bytes to the front when the
    /// buffer's end is reached. False at the end of the stream or when the peer reset it.
    func fill() -> Bool {
        if end == input.count, start > 0 {
            let count = end - start
            input.baseAddress!.copyMemory(from: input.baseAddress! + start, byteCount: count)
            start = 0
            end = count
        }
        precondition(end < input.count, "no room to receive: the head limit must stay below the buffer's size")
        guard case .bytes(let count) = FileIO.read(descriptor, into: input.baseAddress! + end, count: input.count - end)
        else { return false }
        end += count
        return true
    }

    /// Hands the next `count` bytes to `handle` in pieces as they arrive, consuming them.
    func receive(_ count: Int, _ handle: (UnsafeRawBufferPointer) throws -> Void) throws {
        var remaining = count
        while remaining > 0 {
            if start == end, !fill() { throw DemoExchangeError.connectionClosed }
            let piece = min(remaining, end - start)
            try handle(UnsafeRawBufferPointer(rebasing: input[start..<(start + piece)]))
            consume(piece)
            remaining -= piece
        }
    }

    /// Reads exactly `count` bytes into a new array.
    func readExactly(_ count: Int) throws -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        try receive(count) { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// Writes all of `bytes`, waiting for room; throws `connectionClosed` when the peer is gone.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            guard case .bytes(let count) = FileIO.write(descriptor, from: bytes.baseAddress! + offset,
                                                         count: bytes.count - offset)
            else { throw DemoExchangeError.connectionClosed }
            offset += count
        }
    }

    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Writes the queued `output` and empties it.
    func flush() throws {
        defer {
            if output.capacity > Self.retainedOutputCapacity {
                output = []
            } else {
                output.removeAll(keepingCapacity: true)
            }
        }
        try write(output)
    }

    /// Half-closes and closes: the peer sees a normal end of stream after the last response.
    func closeGracefully() {
        Socket.shutdownWrite(descriptor)
        FileIO.close(descriptor)
    }

    /// Waits (up to `timeoutMilliseconds`) until the peer has acknowledged everything sent, then closes with a RST
    /// instead of a FIN.
    func resetAfterDelivery(timeoutMilliseconds: Int) {
        var waited = 0
        while waited < timeoutMilliseconds, Socket.unacknowledgedBytes(descriptor) > 0 {
            PosixThread.sleep(milliseconds: 1)
            waited += 1
        }
        Socket.setAbortOnClose(descriptor)
        FileIO.close(descriptor)
    }

    /// Closes without ceremony (after an error).
    func closeImmediately() {
        FileIO.close(descriptor)
    }
}
