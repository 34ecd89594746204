import Glibc

/// Errors that end an exchange on a connection.
enum DemoHTTPError: Error {
    /// The peer closed (or reset) the connection; nothing more can be sent.
    case connectionClosed
    /// The request is malformed: answer 400 with the reason and close.
    case badRequest(String)
    /// The request head exceeds the limit: answer 431 and close.
    case headTooLarge
    /// The request names an HTTP major version other than 1: answer 505 and close.
    case versionNotSupported
}

/// A blocking socket with a read buffer: request heads, body bytes and WebSocket frames are all read through it,
/// so bytes that arrive early (pipelined requests, frames right after the upgrade) are never lost.
final class ConnectionStream {
    static let bufferCapacity = 64 * 1024

    let descriptor: Int32
    private var buffer = [UInt8](repeating: 0, count: ConnectionStream.bufferCapacity)
    private var readIndex = 0
    private var endIndex = 0

    init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    /// Number of received bytes not consumed yet.
    var bufferedCount: Int { endIndex - readIndex }

    /// Reads more bytes from the socket into the buffer. Returns false at end of stream.
    private func fill() throws -> Bool {
        if readIndex == endIndex {
            readIndex = 0
            endIndex = 0
        } else if endIndex == buffer.count {
            // Move the unconsumed tail to the front to make room.
            let count = endIndex - readIndex
            buffer.withUnsafeMutableBytes { raw in
                let base = raw.baseAddress!
                memmove(base, base + readIndex, count)
            }
            readIndex = 0
            endIndex = count
        }
        if endIndex == buffer.count { return true }
        while true {
            let received = buffer.withUnsafeMutableBytes { raw in
                recv(descriptor, raw.baseAddress! + endIndex, raw.count - endIndex, 0)
            }
            if received > 0 {
                endIndex += received
                return true
            }
            if received == 0 { return false }
            if errno == EINTR { continue }
            if errno == ECONNRESET || errno == EPIPE || errno == ETIMEDOUT { return false }
            throw SystemCallError("recv")
        }
    }

    /// Reads one request head (request line through the empty line) and returns its bytes exactly as received,
    /// without the empty lines a client may send before it. Returns nil when the peer closes between requests.
    func readHead(limit: Int) throws -> [UInt8]? {
        var scanned = 0
        while true {
            // Skip blank lines before the request line (RFC 9112 §2.2).
            while readIndex < endIndex, buffer[readIndex] == UInt8(ascii: "\r") || buffer[readIndex] == UInt8(ascii: "\n") {
                readIndex += 1
            }
            if let end = headEnd(from: scanned) {
                let head = Array(buffer[readIndex..<end])
                readIndex = end
                return head
            }
            scanned = max(0, bufferedCount - 3)
            if bufferedCount >= limit { throw DemoHTTPError.headTooLarge }
            guard try fill() else {
                if bufferedCount == 0 { return nil }
                throw DemoHTTPError.connectionClosed
            }
        }
    }

    /// Index just past the empty line that ends a head, or nil when it has not been received yet.
    private func headEnd(from offset: Int) -> Int? {
        var index = readIndex + offset
        while index < endIndex {
            if buffer[index] == UInt8(ascii: "\n") {
                if index + 1 < endIndex, buffer[index + 1] == UInt8(ascii: "\n") { return index + 2 }
                if index + 2 < endIndex, buffer[index + 1] == UInt8(ascii: "\r"), buffer[index + 2] == UInt8(ascii: "\n") {
                    return index + 3
                }
            }
            index += 1
        }
        return nil
    }

    /// Reads one line ending in LF and returns it without the line ending.
    func readLine(limit: Int) throws -> [UInt8] {
        var scanned = readIndex
        while true {
            while scanned < endIndex {
                if buffer[scanned] == UInt8(ascii: "\n") {
                    var lineEnd = scanned
                    if lineEnd > readIndex, buffer[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
                    let line = Array(buffer[readIndex..<lineEnd])
                    readIndex = scanned + 1
                    return line
                }
                scanned += 1
            }
            if bufferedCount >= limit { throw DemoHTTPError.badRequest("line longer than \(limit) bytes") }
            let offset = scanned - readIndex
            guard try fill() else { throw DemoHTTPError.connectionClosed }
            scanned = readIndex + offset
        }
    }

    /// Consumes exactly `count` bytes, handing them over in pieces as they arrive.
    func consume(_ count: Int, _ handle: (UnsafeRawBufferPointer) throws -> Void) throws {
        var remaining = count
        while remaining > 0 {
            if bufferedCount == 0 {
                guard try fill() else { throw DemoHTTPError.connectionClosed }
            }
            let take = min(remaining, bufferedCount)
            try buffer.withUnsafeBytes { raw in
                try handle(UnsafeRawBufferPointer(rebasing: raw[readIndex..<(readIndex + take)]))
            }
            readIndex += take
            remaining -= take
        }
    }

    /// Reads exactly `count` bytes into a new array.
    func readExactly(_ count: Int) throws -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        try consume(count) { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// Writes all of `bytes`; throws `connectionClosed` when the peer is gone.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = send(descriptor, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if sent >= 0 {
                offset += sent
                continue
            }
            if errno == EINTR { continue }
            if errno == EPIPE || errno == ECONNRESET || errno == ETIMEDOUT { throw DemoHTTPError.connectionClosed }
            throw SystemCallError("send")
        }
    }

    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Half-closes and closes: the peer sees a normal end of stream after the last response.
    func closeGracefully() {
        shutdown(descriptor, Int32(SHUT_WR))
        close(descriptor)
    }

    /// Waits (up to `timeoutMilliseconds`) until the peer has acknowledged everything sent, then closes with
    /// SO_LINGER 0 so the kernel sends RST instead of FIN.
    func resetAfterDelivery(timeoutMilliseconds: Int) {
        var waited = 0
        while waited < timeoutMilliseconds {
            var unacknowledged: Int32 = 0
            guard ioctl(descriptor, UInt(TIOCOUTQ), &unacknowledged) == 0, unacknowledged > 0 else { break }
            usleep(1_000)
            waited += 1
        }
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close(descriptor)
    }

    /// Closes without ceremony (after an error).
    func closeImmediately() {
        close(descriptor)
    }
}
