import Foundation
import Glibc
import Synchronization
import TurnoutPosix

/// A blocking HTTP server on a loopback port for the health checks' and the hooks' tests, on its own thread. It
/// answers every request with the current status, or with the next of a list of whole responses (the last one
/// repeating), or accepts and never answers (`silent`); it records what it received and when.
final class LoopbackHTTPServer: Sendable {
    enum Behavior: Sendable, Equatable {
        case status(Int)
        /// Raw responses, one per request in order; the last one answers every request after it.
        case responses([String])
        case silent
    }

    /// A request as received: the head (through its blank line), the body as text, and when it was complete.
    struct Request: Sendable {
        var head: String
        var body: String
        var receivedAt: UInt64
    }

    private struct State {
        var behavior: Behavior
        var received: [Request] = []
        var answered = 0
        var connections = 0
        /// Connections accepted in `silent` mode, kept open until `stop`.
        var held: [Int32] = []
    }

    let port: UInt16
    private let listener: Int32
    private let state: Mutex<State>
    private let thread = Mutex<PosixThread?>(nil)

    init(_ behavior: Behavior) throws {
        state = Mutex(State(behavior: behavior))
        (listener, port) = try Self.listen()
        let started = try PosixThread(name: "health-server") { [self] in acceptLoop() }
        thread.withLock { $0 = started }
    }

    var behavior: Behavior {
        get { state.withLock { $0.behavior } }
        set { state.withLock { $0.behavior = newValue } }
    }

    /// Request heads received, in order.
    var requests: [String] { state.withLock { $0.received.map(\.head) } }

    /// Requests received, in order, with their bodies and times.
    var received: [Request] { state.withLock { $0.received } }

    /// Connections accepted so far.
    var connections: Int { state.withLock { $0.connections } }

    func stop() {
        _ = shutdown(listener, Int32(SHUT_RDWR))
        thread.withLock { $0 }?.join()
        close(listener)
        for fd in state.withLock({ $0.held }) { close(fd) }
    }

    private func acceptLoop() {
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 { return }
            let behavior = state.withLock { state in
                state.connections += 1
                if state.behavior == .silent { state.held.append(fd) }
                return state.behavior
            }
            if behavior != .silent { answer(fd) }
        }
    }

    private func answer(_ fd: Int32) {
        defer { close(fd) }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1024)
        while !received.ends(with: Array("\r\n\r\n".utf8)) {
            let count = read(fd, &buffer, 1)
            if count <= 0 { return }
            received += buffer[0..<count]
        }
        let head = String(decoding: received, as: UTF8.self)
        var body: [UInt8] = []
        while body.count < Self.contentLength(head) {
            let count = read(fd, &buffer, min(buffer.count, Self.contentLength(head) - body.count))
            if count <= 0 { return }
            body += buffer[0..<count]
        }
        let response = state.withLock { state -> String in
            state.received.append(Request(head: head, body: String(decoding: body, as: UTF8.self),
                                          receivedAt: MonotonicClock.now()))
            switch state.behavior {
            case .status(let status): return "HTTP/1.1 \(status) Status\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
            case .responses(let responses):
                state.answered += 1
                return responses[min(state.answered, responses.count) - 1]
            case .silent: return ""
            }
        }
        let bytes = Array(response.utf8)
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    private static func contentLength(_ head: String) -> Int {
        for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
            return Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        return 0
    }

    private static func listen() throws -> (Int32, UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = loopbackAddress()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa -> Int32 in
                guard bind(fd, sa, length) == 0, Glibc.listen(fd, 64) == 0 else { return -1 }
                return getsockname(fd, sa, &length)
            }
        }
        guard rc == 0 else {
            close(fd)
            throw SystemError("bind", errno: errno)
        }
        return (fd, UInt16(bigEndian: address.sin_port))
    }

    /// A loopback port nothing listens on: bound once to get a free port, then closed.
    static func closedPort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = loopbackAddress()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa -> Int32 in
                guard bind(fd, sa, length) == 0 else { return -1 }
                return getsockname(fd, sa, &length)
            }
        }
        guard rc == 0 else { throw SystemError("bind", errno: errno) }
        return UInt16(bigEndian: address.sin_port)
    }

    private static func loopbackAddress() -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        return address
    }
}

extension Array where Element == UInt8 {
    fileprivate func ends(with suffix: [UInt8]) -> Bool {
        count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix
    }
}
