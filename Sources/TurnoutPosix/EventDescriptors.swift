import CTurnoutLinux
import Glibc

/// An eventfd: a counter another thread bumps to wake an epoll loop.
public struct EventNotifier: Sendable {
    public let fd: Int32

    public init() throws(SystemError) {
        fd = try checkedSyscall("eventfd") { turnout_eventfd() }
    }

    /// Wakes the loop that watches `fd`; safe from any thread.
    public func signal() { _ = turnout_eventfd_signal(fd) }

    /// Resets the counter after a wake-up.
    public func drain() { _ = turnout_eventfd_drain(fd) }

    public func close() { FileIO.close(fd) }
}

/// A periodic timerfd on the monotonic clock: the tick that drives a loop's deadlines.
public struct PeriodicTimer: Sendable {
    public let fd: Int32

    public init(intervalNanoseconds: UInt64) throws(SystemError) {
        fd = try checkedSyscall("timerfd_create") { turnout_timerfd_create() }
        let interval = Int64(intervalNanoseconds)
        _ = try checkedSyscall("timerfd_settime") { turnout_timerfd_arm(fd, interval, interval) }
    }

    public func drain() { _ = turnout_timerfd_drain(fd) }

    public func close() { FileIO.close(fd) }
}

/// Signals delivered as readable events on a descriptor instead of asynchronous
/// handlers. The signals must be blocked in every thread (`block` before spawning).
public struct SignalDescriptor: Sendable {
    public let fd: Int32

    /// Blocks `signals` in the calling thread; threads created afterwards inherit the mask.
    public static func block(_ signals: [Int32]) {
        _ = signals.withUnsafeBufferPointer { turnout_block_signals($0.baseAddress, Int32($0.count)) }
    }

    public init(_ signals: [Int32]) throws(SystemError) {
        let made = signals.withUnsafeBufferPointer { buffer in
            retryingOnInterrupt { turnout_signalfd(buffer.baseAddress, Int32(buffer.count)) }
        }
        if made.result < 0 { throw SystemError("signalfd", errno: made.errno) }
        fd = made.result
    }

    /// The next pending signal, or nil when none is pending (non-blocking).
    public func take() -> Int32? {
        let signal = turnout_signalfd_read(fd)
        return signal > 0 ? signal : nil
    }
}

/// A non-blocking pipe, the kernel buffer `splice` moves bytes through.
public struct Pipe: Sendable {
    public let readEnd: Int32
    public let writeEnd: Int32

    public init(size: Int32? = nil) throws(SystemError) {
        var fds: [Int32] = [-1, -1]
        _ = try checkedSyscall("pipe2") { fds.withUnsafeMutableBufferPointer { turnout_pipe2($0.baseAddress) } }
        readEnd = fds[0]
        writeEnd = fds[1]
        if let size { _ = turnout_set_pipe_size(writeEnd, size) }
    }

    public func close() {
        FileIO.close(readEnd)
        FileIO.close(writeEnd)
    }
}
