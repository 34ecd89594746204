import Glibc

/// A blocking TCP listening socket (IPv4 or IPv6) with SO_REUSEADDR.
final class ListeningSocket: Sendable {
    let descriptor: Int32
    /// `host:port` as bound (the real port when 0 was asked for); IPv6 hosts are bracketed.
    let boundAddressDescription: String

    init(host: String, port: UInt16, backlog: Int32) throws {
        let isIPv6 = host.contains(":")
        let family = isIPv6 ? AF_INET6 : AF_INET
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemCallError("socket") }
        var enable: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &enable, socklen_t(MemoryLayout<Int32>.size))

        var boundPort: UInt16 = port
        do {
            if isIPv6 {
                var address = sockaddr_in6()
                address.sin6_family = sa_family_t(AF_INET6)
                address.sin6_port = port.bigEndian
                guard inet_pton(AF_INET6, host, &address.sin6_addr) == 1 else {
                    throw SystemCallError("inet_pton(\(host))", code: EINVAL)
                }
                try Self.bind(fd, &address)
                try Self.listen(fd, backlog)
                boundPort = UInt16(bigEndian: try Self.localAddress(fd, as: sockaddr_in6.self).sin6_port)
            } else {
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_port = port.bigEndian
                guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
                    throw SystemCallError("inet_pton(\(host))", code: EINVAL)
                }
                try Self.bind(fd, &address)
                try Self.listen(fd, backlog)
                boundPort = UInt16(bigEndian: try Self.localAddress(fd, as: sockaddr_in.self).sin_port)
            }
        } catch {
            close(fd)
            throw error
        }
        descriptor = fd
        boundAddressDescription = isIPv6 ? "[\(host)]:\(boundPort)" : "\(host):\(boundPort)"
    }

    /// Accepts one connection, retrying on EINTR and on errors that concern only the aborted peer.
    func accept() throws -> Int32 {
        while true {
            let fd = Glibc.accept(descriptor, nil, nil)
            if fd >= 0 {
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                return fd
            }
            switch errno {
            case EINTR, ECONNABORTED, EPROTO:
                continue
            case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                // Out of descriptors or memory: back off briefly instead of spinning.
                usleep(10_000)
                continue
            default:
                throw SystemCallError("accept")
            }
        }
    }

    private static func bind<Address>(_ fd: Int32, _ address: inout Address) throws {
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<Address>.size))
            }
        }
        guard result == 0 else { throw SystemCallError("bind") }
    }

    private static func listen(_ fd: Int32, _ backlog: Int32) throws {
        guard Glibc.listen(fd, backlog) == 0 else { throw SystemCallError("listen") }
    }

    private static func localAddress<Address>(_ fd: Int32, as type: Address.Type) throws -> Address {
        let storage = UnsafeMutablePointer<Address>.allocate(capacity: 1)
        defer { storage.deallocate() }
        var length = socklen_t(MemoryLayout<Address>.size)
        let result = storage.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        guard result == 0 else { throw SystemCallError("getsockname") }
        return storage.pointee
    }
}
