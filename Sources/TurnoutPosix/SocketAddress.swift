import CTurnoutLinux
import Glibc

/// An IPv4 or IPv6 socket address, stored inline (no allocation to pass around).
public struct SocketAddress: Sendable, Equatable, CustomStringConvertible {
    @usableFromInline var storage: sockaddr_storage
    public private(set) var length: socklen_t

    public init(storage: sockaddr_storage, length: socklen_t) {
        self.storage = storage
        self.length = length
    }

    public static func == (lhs: SocketAddress, rhs: SocketAddress) -> Bool {
        guard lhs.length == rhs.length else { return false }
        var l = lhs.storage, r = rhs.storage
        return withUnsafeBytes(of: &l) { lb in
            withUnsafeBytes(of: &r) { rb in memcmp(lb.baseAddress!, rb.baseAddress!, Int(lhs.length)) == 0 }
        }
    }

    public var family: Int32 { Int32(storage.ss_family) }

    /// Resolves `host` (a literal or a name) and `port` with `getaddrinfo`; blocking, for
    /// start-up only (binds). Returns the first TCP address.
    public static func resolve(host: String, port: UInt16) throws(SystemError) -> SocketAddress {
        let lookupHost = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        let found: [SocketAddress]
        do {
            found = try addresses(host: lookupHost.isEmpty ? "0.0.0.0" : lookupHost, port: port, flags: 0)
        } catch {
            throw SystemError("getaddrinfo", errno: error.code == EAI_SYSTEM ? error.systemErrno : ENOENT)
        }
        guard let first = found.first else { throw SystemError("getaddrinfo", errno: ENOENT) }
        return first
    }

    /// Parses an IP address (`127.0.0.1`, `::1`, `fe80::1%eth0`) without any lookup (`AI_NUMERICHOST`): never
    /// blocks. Nil for a name or anything malformed.
    public static func numeric(host: String, port: UInt16) -> SocketAddress? {
        try? addresses(host: host, port: port, flags: AI_NUMERICHOST).first
    }

    /// Every TCP address of `host` (a name or an address) on `port`, as `getaddrinfo` orders them, each once:
    /// IPv6 ones only when the machine has an IPv6 address configured (`AI_ADDRCONFIG`). Blocking for as long
    /// as the resolver's timeouts allow (`/etc/resolv.conf`): for a thread of its own, never a loop's.
    public static func lookUp(host: String, port: UInt16) throws(NameLookupError) -> [SocketAddress] {
        var unique: [SocketAddress] = []
        for address in try addresses(host: host, port: port, flags: AI_ADDRCONFIG) where !unique.contains(address) {
            unique.append(address)
        }
        return unique
    }

    private static func addresses(host: String, port: UInt16, flags: Int32) throws(NameLookupError) -> [SocketAddress] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        hints.ai_flags = AI_NUMERICSERV | flags
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &result)
        guard rc == 0 else { throw NameLookupError(code: rc, errno: turnout_errno()) }
        defer { freeaddrinfo(result) }
        var found: [SocketAddress] = []
        var entry = result
        while let current = entry {
            var storage = sockaddr_storage()
            let length = min(Int(current.pointee.ai_addrlen), MemoryLayout<sockaddr_storage>.size)
            withUnsafeMutableBytes(of: &storage) { dst in
                dst.copyMemory(from: UnsafeRawBufferPointer(start: current.pointee.ai_addr, count: length))
            }
            found.append(SocketAddress(storage: storage, length: socklen_t(length)))
            entry = current.pointee.ai_next
        }
        return found
    }

    /// The address without its port, as text (`127.0.0.1`, `::1`: no brackets).
    public var numericHost: String {
        var bytes = [UInt8](repeating: 0, count: 64)
        let count = bytes.withUnsafeMutableBytes { formatHost(into: $0) }
        return String(decoding: bytes[0..<count], as: UTF8.self)
    }

    /// Runs `body` with the address as a `sockaddr` pointer.
    @inlinable
    public func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        var copy = storage
        return withUnsafePointer(to: &copy) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }

    /// The address as 128 bits in two big-endian halves, an IPv4 address mapped into IPv6 (`::ffff:a.b.c.d`):
    /// what rules compare with address blocks. No allocation.
    public var mappedIPv6Halves: (high: UInt64, low: UInt64) {
        var copy = storage
        let family = self.family
        return withUnsafePointer(to: &copy) { pointer -> (high: UInt64, low: UInt64) in
            if family == AF_INET6 {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                    withUnsafeBytes(of: sin6.pointee.sin6_addr) { bytes in
                        (bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self).bigEndian,
                         bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self).bigEndian)
                    }
                }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                (0, 0xffff_0000_0000 | UInt64(UInt32(bigEndian: sin.pointee.sin_addr.s_addr)))
            }
        }
    }

    /// The port in host byte order.
    public var port: UInt16 {
        var copy = storage
        return withUnsafePointer(to: &copy) { pointer -> UInt16 in
            if family == AF_INET6 {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
    }

    /// Writes the numeric host (no port) into `out`; returns the byte count. No allocation.
    public func formatHost(into out: UnsafeMutableRawBufferPointer) -> Int {
        var copy = storage
        let family = self.family
        let written: UnsafePointer<CChar>? = withUnsafePointer(to: &copy) { pointer in
            let dst = out.baseAddress!.assumingMemoryBound(to: CChar.self)
            if family == AF_INET6 {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                    var addr = sin6.pointee.sin6_addr
                    return inet_ntop(AF_INET6, &addr, dst, socklen_t(out.count))
                }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                var addr = sin.pointee.sin_addr
                return inet_ntop(AF_INET, &addr, dst, socklen_t(out.count))
            }
        }
        guard written != nil else { return 0 }
        return strlen(out.baseAddress!.assumingMemoryBound(to: CChar.self))
    }

    public var description: String {
        family == AF_INET6 ? "[\(numericHost)]:\(port)" : "\(numericHost):\(port)"
    }
}

/// A failed `getaddrinfo`: its `EAI_*` code, and the text people read in the status and the log.
public struct NameLookupError: Error, Equatable, CustomStringConvertible {
    /// The `EAI_*` code (`EAI_NONAME` for a name that does not exist, `EAI_AGAIN` for a server that failed or did
    /// not answer in time).
    public let code: Int32
    public let description: String
    /// `errno` when `code` is `EAI_SYSTEM`.
    let systemErrno: Int32

    init(code: Int32, errno: Int32) {
        self.code = code
        systemErrno = errno
        if code == EAI_SYSTEM {
            description = String(cString: strerror(errno)).lowercased()
        } else {
            description = String(cString: gai_strerror(code)).lowercased()
        }
    }
}
