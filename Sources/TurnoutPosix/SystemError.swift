import CTurnoutLinux
import Glibc

/// A failed system call: which call and the `errno` it left.
public struct SystemError: Error, Sendable, CustomStringConvertible {
    public let call: StaticString
    public let errno: Int32

    public init(_ call: StaticString, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    public var description: String {
        "\(call): \(String(cString: strerror(errno))) (errno \(errno))"
    }
}

extension SystemError {
    /// Whether `errno` says this process or machine ran short of something (descriptors: EMFILE, ENFILE;
    /// socket buffers or memory: ENOBUFS, ENOMEM; local ports: EADDRNOTAVAIL) rather than that a peer failed.
    /// Such a failure says nothing about the peer: it must not count against it, and retrying at once only
    /// fails again.
    public static func isLocalResourceShortage(_ errno: Int32) -> Bool {
        errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM || errno == EADDRNOTAVAIL
    }
}

/// The one place where system calls are retried on `EINTR` and their errors captured.
///
/// Every wrapper in this module funnels through here, so the EINTR policy and the
/// errno capture live in a single function.
@inline(__always)
public func retryingOnInterrupt<T: FixedWidthInteger>(_ body: () -> T) -> (result: T, errno: Int32) {
    while true {
        let result = body()
        if result >= 0 { return (result, 0) }
        let err = turnout_errno()
        if err == EINTR { continue }
        return (result, err)
    }
}

/// Like `retryingOnInterrupt`, but throws for any failure; for calls outside the hot path.
@inline(__always)
public func checkedSyscall<T: FixedWidthInteger>(_ call: StaticString, _ body: () -> T) throws(SystemError) -> T {
    let (result, err) = retryingOnInterrupt(body)
    if result < 0 { throw SystemError(call, errno: err) }
    return result
}
