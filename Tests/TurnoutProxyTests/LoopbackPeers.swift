import Foundation
import Glibc

/// A minimal blocking HTTP/1.1 backend on a loopback port for in-process proxy tests:
/// answers every request with its name in `X-Served-By` and in the body.
final class NamedBackend: @unchecked Sendable {
    let name: String
    let port: UInt16
    private let listener: Int32

    init(name: String) throws {
        self.name = name
        (listener, port) = try listenOnLoopback(backlog: 128)
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    private func acceptLoop() {
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 { return }
            Thread { [self] in serve(fd) }.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let body = Array(name.utf8)
        let response = Array("HTTP/1.1 200 OK\r\nContent-Length: \(body.count)\r\nX-Served-By: \(name)\r\n\r\n".utf8) + body
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { return }
            pending += buffer[0..<n]
            while let end = headEnd(pending) {
                pending.removeFirst(end)
                if response.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) < 0 { return }
            }
        }
    }
}

/// A listening socket on 127.0.0.1 and a port the kernel picked.
func listenOnLoopback(backlog: Int32) throws -> (fd: Int32, port: UInt16) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa -> Int32 in
            guard bind(fd, sa, length) == 0, listen(fd, backlog) == 0 else { return -1 }
            return getsockname(fd, sa, &length)
        }
    }
    guard bound == 0 else {
        close(fd)
        throw POSIXError(.EADDRINUSE)
    }
    return (fd, UInt16(bigEndian: address.sin_port))
}

/// The index just past the first CRLFCRLF, if any.
func headEnd(_ bytes: [UInt8]) -> Int? {
    guard bytes.count >= 4 else { return nil }
    for i in 0...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
        return i + 4
    }
    return nil
}

/// A keep-alive HTTP/1.1 client on one blocking socket.
final class KeepAliveClient {
    private let fd: Int32

    init(port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw POSIXError(.ECONNREFUSED) }
    }

    deinit { close(fd) }

    /// Sends one GET and returns (status, X-Served-By), or nil when the exchange failed.
    func get(_ path: String = "/") -> (status: Int, servedBy: String)? {
        let request = Array("GET \(path) HTTP/1.1\r\nHost: test\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else { return nil }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            if let end = headEnd(received) {
                let head = String(decoding: received[0..<end], as: UTF8.self)
                let lines = head.split(separator: "\r\n")
                guard let statusLine = lines.first, let status = Int(statusLine.split(separator: " ")[1]) else { return nil }
                var length = 0
                var servedBy = ""
                for line in lines.dropFirst() {
                    let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                    guard parts.count == 2 else { continue }
                    if parts[0].lowercased() == "content-length" { length = Int(parts[1]) ?? 0 }
                    if parts[0].lowercased() == "x-served-by" { servedBy = parts[1] }
                }
                while received.count < end + length {
                    let n = read(fd, &buffer, buffer.count)
                    if n <= 0 { return nil }
                    received += buffer[0..<n]
                }
                return (status, servedBy)
            }
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { return nil }
            received += buffer[0..<n]
        }
    }
}

/// A loopback listener that never accepts: connections complete in the kernel's backlog and requests
/// sent on them are never answered, as with a target that hangs (SIGSTOP) after its socket was set up.
final class SilentListener {
    let port: UInt16
    private let fd: Int32

    init() throws {
        (fd, port) = try listenOnLoopback(backlog: 16)
    }

    deinit { close(fd) }
}
