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
    /// start-up and the control thread only. Returns the first TCP address.
    public static func resolve(host: String, port: UInt16) throws(SystemError) -> SocketAddress {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        hints.ai_flags = AI_NUMERICSERV
        var result: UnsafeMutablePointer<addrinfo>?
        let lookupHost = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        let rc = getaddrinfo(lookupHost.isEmpty ? "0.0.0.0" : lookupHost, String(port), &hints, &result)
        guard rc == 0, let first = result else {
            throw SystemError("getaddrinfo", errno: rc == EAI_SYSTEM ? errno : ENOENT)
        }
        defer { freeaddrinfo(result) }
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { dst in
            dst.copyMemory(from: UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: Int(first.pointee.ai_addrlen)))
        }
        return SocketAddress(storage: storage, length: first.pointee.ai_addrlen)
    }

    /// Runs `body` with the address as a `sockaddr` pointer.
    @inlinable
    public func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        var copy = storage
        return withUnsafePointer(to: &copy) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
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
        var bytes = [UInt8](repeating: 0, count: 64)
        let n = bytes.withUnsafeMutableBytes { formatHost(into: $0) }
        let host = String(decoding: bytes[0..<n], as: UTF8.self)
        return family == AF_INET6 ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
