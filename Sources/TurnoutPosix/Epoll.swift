import CTurnoutLinux

/// Interest and readiness bits, as epoll defines them.
public struct EpollEvents: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let readable = EpollEvents(rawValue: turnout_EPOLLIN)
    public static let writable = EpollEvents(rawValue: turnout_EPOLLOUT)
    public static let readHangUp = EpollEvents(rawValue: turnout_EPOLLRDHUP)
    public static let hangUp = EpollEvents(rawValue: turnout_EPOLLHUP)
    public static let error = EpollEvents(rawValue: turnout_EPOLLERR)
    public static let edgeTriggered = EpollEvents(rawValue: turnout_EPOLLET)
}

/// One epoll instance with a preallocated event array (no allocation per wait).
/// Owned by one thread.
public final class Epoll {
    public let fd: Int32
    public let capacity: Int
    /// Readiness of the events returned by the last `wait`, parallel to `tokens`.
    public let events: UnsafeMutablePointer<UInt32>
    /// The token registered with each ready descriptor.
    public let tokens: UnsafeMutablePointer<UInt64>

    public init(capacity: Int = 256) throws(SystemError) {
        fd = try checkedSyscall("epoll_create1") { turnout_epoll_create() }
        self.capacity = min(capacity, 256)
        events = .allocate(capacity: self.capacity)
        tokens = .allocate(capacity: self.capacity)
    }

    deinit {
        events.deallocate()
        tokens.deallocate()
        FileIO.close(fd)
    }

    public func add(_ descriptor: Int32, _ interest: EpollEvents, token: UInt64) throws(SystemError) {
        _ = try checkedSyscall("epoll_ctl(ADD)") { turnout_epoll_ctl(fd, turnout_EPOLL_CTL_ADD, descriptor, interest.rawValue, token) }
    }

    public func modify(_ descriptor: Int32, _ interest: EpollEvents, token: UInt64) throws(SystemError) {
        _ = try checkedSyscall("epoll_ctl(MOD)") { turnout_epoll_ctl(fd, turnout_EPOLL_CTL_MOD, descriptor, interest.rawValue, token) }
    }

    /// Removes a descriptor; failures are ignored (closing a descriptor removes it anyway).
    public func remove(_ descriptor: Int32) {
        _ = turnout_epoll_ctl(fd, turnout_EPOLL_CTL_DEL, descriptor, 0, 0)
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever) and returns how many events are
    /// ready in `events`/`tokens`.
    public func wait(timeoutMilliseconds: Int32) -> Int {
        let (n, _) = retryingOnInterrupt { turnout_epoll_wait(fd, events, tokens, Int32(capacity), timeoutMilliseconds) }
        return max(0, Int(n))
    }
}
