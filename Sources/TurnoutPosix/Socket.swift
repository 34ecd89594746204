import CTurnoutLinux
import Glibc

/// TCP socket operations on raw descriptors. Descriptors stay plain `Int32`s so that the
/// data path can keep them in connection objects without wrapper allocations.
public enum Socket {
    /// A non-blocking listening socket. `reusePort` lets every worker bind its own
    /// socket to the same address so the kernel spreads connections across workers.
    public static func listen(on address: SocketAddress, reusePort: Bool, backlog: Int32 = 1024) throws(SystemError) -> Int32 {
        let fd = try checkedSyscall("socket") { turnout_socket_nonblocking(address.family, Int32(SOCK_STREAM.rawValue), 0) }
        do throws(SystemError) {
            try setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
            if reusePort { try setOption(fd, SOL_SOCKET, SO_REUSEPORT, 1) }
            let rc = address.withSockAddr { Glibc.bind(fd, $0, $1) }
            if rc != 0 { throw SystemError("bind", errno: errno) }
            _ = try checkedSyscall("listen") { Glibc.listen(fd, backlog) }
        } catch {
            FileIO.close(fd)
            throw error
        }
        return fd
    }

    /// Accepts one pending connection, non-blocking and close-on-exec. `nil` when none is
    /// pending; throws for real failures (EMFILE, ENOBUFS, ...).
    @inline(__always)
    public static func accept(_ listener: Int32, peer: inout SocketAddress) -> (fd: Int32, errno: Int32) {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let (fd, err) = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                retryingOnInterrupt { turnout_accept4(listener, sa, &length) }
            }
        }
        if fd >= 0 { peer = SocketAddress(storage: storage, length: length) }
        return (fd, err)
    }

    /// The outcome of a non-blocking connect.
    public enum ConnectResult: Equatable, Sendable {
        case connected
        case inProgress
        case failed(Int32)
    }

    /// Starts a non-blocking TCP connection. The socket is returned in every case but
    /// `failed`, which closes it.
    public static func connect(to address: SocketAddress) -> (fd: Int32, result: ConnectResult) {
        let (fd, err) = retryingOnInterrupt { turnout_socket_nonblocking(address.family, Int32(SOCK_STREAM.rawValue), 0) }
        if fd < 0 { return (-1, .failed(err)) }
        setNoDelay(fd)
        let rc = address.withSockAddr { Glibc.connect(fd, $0, $1) }
        if rc == 0 { return (fd, .connected) }
        let connectErr = errno
        if connectErr == EINPROGRESS || connectErr == EINTR { return (fd, .inProgress) }
        FileIO.close(fd)
        return (-1, .failed(connectErr))
    }

    /// Whether a connection left idle (a kept-alive HTTP/1.1 connection between exchanges) can take another
    /// request: false once the peer closed it (end of file, a reset) or sent bytes nobody asked for (over TLS, its
    /// close_notify). Peeks, so nothing is consumed.
    public static func isIdleConnectionOpen(_ fd: Int32) -> Bool {
        var byte: UInt8 = 0
        let (count, err) = retryingOnInterrupt { Glibc.recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) }
        return count < 0 && (err == EAGAIN || err == EWOULDBLOCK)
    }

    /// The pending error of a socket (`SO_ERROR`), 0 when none: how a non-blocking
    /// connect reports its outcome.
    public static func pendingError(_ fd: Int32) -> Int32 {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &length) != 0 { return errno }
        return value
    }

    /// Sends small writes at once instead of coalescing them (Nagle). Set on a listener, it
    /// carries over to every connection accepted from it.
    public static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Makes the next `close` send a RST instead of a FIN: how an aborted exchange is
    /// made visible to the peer.
    public static func setAbortOnClose(_ fd: Int32) {
        var option = linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
    }

    /// Fixes the kernel's send buffer at `bytes` (`SO_SNDBUF`, which Linux doubles for its bookkeeping) and so
    /// ends its autotuning, which would otherwise let megabytes wait for a peer that does not read.
    public static func setSendBuffer(_ fd: Int32, bytes: Int32) {
        var value = bytes
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &value, socklen_t(MemoryLayout<Int32>.size))
    }

    public static func shutdownWrite(_ fd: Int32) {
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
    }

    /// Puts an accepted (non-blocking) socket in blocking mode, for a thread that serves one connection and
    /// simply waits on it.
    public static func setBlocking(_ fd: Int32) throws(SystemError) {
        let flags = try checkedSyscall("fcntl(F_GETFL)") { fcntl(fd, F_GETFL) }
        _ = try checkedSyscall("fcntl(F_SETFL)") { fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
    }

    /// Bytes written to a TCP socket that the peer has not acknowledged yet (`SIOCOUTQ`, which Linux spells
    /// `TIOCOUTQ` too): unsent bytes and bytes in flight. 0 once the peer has everything, or when the call fails.
    public static func unacknowledgedBytes(_ fd: Int32) -> Int {
        var count: Int32 = 0
        let (rc, _) = retryingOnInterrupt { ioctl(fd, UInt(TIOCOUTQ), &count) }
        return rc == 0 ? Int(count) : 0
    }

    /// The local address a socket is bound to (resolves port 0 after bind).
    public static func localAddress(_ fd: Int32) throws(SystemError) -> SocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        if rc != 0 { throw SystemError("getsockname", errno: errno) }
        return SocketAddress(storage: storage, length: length)
    }

    static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) throws(SystemError) {
        var v = value
        if setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            throw SystemError("setsockopt", errno: errno)
        }
    }
}
