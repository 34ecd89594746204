import CTurnoutLinux
import Glibc

/// The service manager's readiness protocol (systemd's `sd_notify(3)`), without libsystemd: each
/// notification is one datagram of newline-separated `KEY=VALUE` assignments sent to the unix
/// datagram socket that `NOTIFY_SOCKET` names (a path, or `@name` for the abstract namespace).
///
/// `Type=notify` units learn from `READY=1` that the service is up, from `RELOADING=1` (with
/// `MONOTONIC_USEC`, as `Type=notify-reload` requires) then `READY=1` that a reload ran, and from
/// `STOPPING=1` that it is shutting down. Without `NOTIFY_SOCKET` (not started by systemd, or
/// another `Type=`) there is no notifier and nothing is sent.
public struct ServiceNotifier: Sendable {
    /// The socket's address as `NOTIFY_SOCKET` gave it.
    public let socketPath: String
    private let address: sockaddr_un
    private let addressLength: socklen_t

    /// The notifier for `NOTIFY_SOCKET` in `environment` (the process's own by default); nil when the
    /// variable is unset or empty. A value that names no usable unix socket address throws.
    public static func fromEnvironment(_ environment: [String: String]? = nil) throws(SystemError) -> ServiceNotifier? {
        let value: String?
        if let environment {
            value = environment["NOTIFY_SOCKET"]
        } else {
            value = getenv("NOTIFY_SOCKET").map { String(cString: $0) }
        }
        guard let value, !value.isEmpty else { return nil }
        return try ServiceNotifier(socketPath: value)
    }

    /// A notifier for the socket at `socketPath`: an absolute path, or `@name` (abstract namespace).
    public init(socketPath: String) throws(SystemError) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(socketPath.utf8)
        guard bytes.first == UInt8(ascii: "/") || bytes.first == UInt8(ascii: "@") else {
            throw SystemError("NOTIFY_SOCKET", errno: EAFNOSUPPORT)
        }
        let isAbstract = bytes.first == UInt8(ascii: "@")
        if isAbstract { bytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        // A path needs its terminating NUL inside sun_path; an abstract name is counted by the length alone.
        guard bytes.count < capacity || (isAbstract && bytes.count <= capacity) else {
            throw SystemError("NOTIFY_SOCKET", errno: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { path in
            for (index, byte) in bytes.enumerated() { path[index] = byte }
        }
        self.socketPath = socketPath
        self.address = address
        addressLength = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)! + bytes.count + (isAbstract ? 0 : 1))
    }

    /// Sends one notification: `assignments` joined by newlines, in one datagram.
    public func send(_ assignments: [String]) throws(SystemError) {
        let message = Array(assignments.joined(separator: "\n").utf8)
        let fd = try checkedSyscall("socket") { socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        defer { FileIO.close(fd) }
        var target = address
        let (sent, error) = withUnsafePointer(to: &target) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sockaddr in
                message.withUnsafeBytes { bytes in
                    retryingOnInterrupt {
                        sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), sockaddr, addressLength)
                    }
                }
            }
        }
        if sent < 0 { throw SystemError("sendto", errno: error) }
    }

    /// `READY=1`: every listener is bound and the routing table published; `status` is shown by `systemctl status`.
    public func ready(status: String) throws(SystemError) {
        try send(["READY=1", "STATUS=" + Self.oneLine(status)])
    }

    /// `RELOADING=1` with the monotonic time it started, before the configuration is read again.
    public func reloading() throws(SystemError) {
        try send(["RELOADING=1", "MONOTONIC_USEC=\(MonotonicClock.now() / 1000)", "STATUS=reloading the configuration"])
    }

    /// `STOPPING=1`: draining; new connections are no longer accepted.
    public func stopping(status: String) throws(SystemError) {
        try send(["STOPPING=1", "STATUS=" + Self.oneLine(status)])
    }

    /// A status text cannot hold a newline: it would start another assignment.
    private static func oneLine(_ text: String) -> String {
        String(text.map { $0 == "\n" || $0 == "\r" ? " " : $0 })
    }
}
