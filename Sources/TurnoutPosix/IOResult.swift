import CTurnoutLinux
import Glibc

/// What a non-blocking read or write did. Returned, not thrown: the data path checks
/// it on every call and `wouldBlock` is routine, not exceptional.
public enum IOResult: Equatable, Sendable {
    /// This many bytes moved (always > 0).
    case bytes(Int)
    /// The socket has nothing to give (read) or no room (write) right now.
    case wouldBlock
    /// The peer closed its sending side (reads only).
    case endOfFile
    /// The call failed with this errno (ECONNRESET, EPIPE, ...).
    case failed(Int32)
}

/// Non-blocking byte moves on a file descriptor.
public enum FileIO {
    @inline(__always)
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int) -> IOResult {
        let (n, err) = retryingOnInterrupt { Glibc.read(fd, buffer, count) }
        if n > 0 { return .bytes(n) }
        if n == 0 { return .endOfFile }
        return classify(err)
    }

    @inline(__always)
    public static func write(_ fd: Int32, from buffer: UnsafeRawPointer, count: Int) -> IOResult {
        // send(MSG_NOSIGNAL): a write to a reset peer must fail with EPIPE, not kill the process.
        let (n, err) = retryingOnInterrupt { Glibc.send(fd, buffer, count, Int32(MSG_NOSIGNAL)) }
        if n >= 0 { return n == 0 ? .wouldBlock : .bytes(n) }
        return classify(err)
    }

    /// `write(2)` to a file or a pipe, where `write` above is for sockets (`send`). A pipe without a reader fails
    /// with EPIPE where the process ignores SIGPIPE, as `serve` does.
    public static func writeFile(_ fd: Int32, from bytes: UnsafeRawBufferPointer) -> IOResult {
        guard let base = bytes.baseAddress else { return .wouldBlock }
        let (n, err) = retryingOnInterrupt { Glibc.write(fd, base, bytes.count) }
        if n >= 0 { return n == 0 ? .wouldBlock : .bytes(n) }
        return classify(err)
    }

    /// Reads into `bytes` (`read` over a buffer's region).
    @inline(__always)
    public static func read(_ fd: Int32, into bytes: UnsafeMutableRawBufferPointer) -> IOResult {
        guard let base = bytes.baseAddress else { return .bytes(0) }
        return read(fd, into: base, count: bytes.count)
    }

    /// Writes `bytes` (`write` over a buffer's region).
    @inline(__always)
    public static func write(_ fd: Int32, from bytes: UnsafeRawBufferPointer) -> IOResult {
        guard let base = bytes.baseAddress else { return .wouldBlock }
        return write(fd, from: base, count: bytes.count)
    }

    /// Moves up to `count` bytes from `source` to `destination` through the kernel
    /// (`splice(2)`); one end must be a pipe.
    @inline(__always)
    public static func splice(from source: Int32, to destination: Int32, count: Int, more: Bool) -> IOResult {
        let (n, err) = retryingOnInterrupt { turnout_splice(source, destination, count, more ? 1 : 0) }
        if n > 0 { return .bytes(n) }
        if n == 0 { return .endOfFile }
        return classify(err)
    }

    @inline(__always)
    static func classify(_ err: Int32) -> IOResult {
        if err == EAGAIN || err == EWOULDBLOCK { return .wouldBlock }
        return .failed(err)
    }

    /// Waits until `fd` is ready for `events` (`poll(2)`) or the monotonic `deadline` (nanoseconds)
    /// passes; false on timeout. Errors and hang-ups count as ready, so the next read or write
    /// reports them.
    public static func wait(_ fd: Int32, for events: Int16, until deadline: UInt64) -> Bool {
        while true {
            let (ready, _) = retryingOnInterrupt { () -> Int32 in
                let now = MonotonicClock.now()
                guard now < deadline else { return 0 }
                var entry = pollfd(fd: fd, events: events, revents: 0)
                return poll(&entry, 1, Int32(clamping: (deadline - now + 999_999) / 1_000_000))
            }
            if ready != 0 { return true }
            if MonotonicClock.now() >= deadline { return false }
        }
    }

    /// Writes `text` to standard error whole (`FileSystem.writeAll`): for the messages of the command-line
    /// tools, which must appear before the process exits or blocks (standard error is never buffered). Gives up
    /// quietly when the write fails, as there is nowhere left to report it.
    public static func writeStandardError(_ text: String) {
        try? PosixFileSystem().writeAll(STDERR_FILENO, Array(text.utf8))
    }

    /// Closes a descriptor. `close` is not retried on EINTR (Linux releases the fd anyway).
    public static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }
}
