import Glibc
import TurnoutPosix

/// One TCP connection to the admin API, used in blocking style: every wait is a `poll` bounded by
/// a deadline on the monotonic clock.
struct AdminClientConnection: ~Copyable {
    private let fd: Int32
    private let deadline: UInt64

    /// Connects to `endpoint`, giving up at `deadline` (monotonic nanoseconds).
    init(to endpoint: AdminEndpoint, deadline: UInt64) throws(AdminTransportError) {
        self.deadline = deadline
        let address: SocketAddress
        do {
            address = try SocketAddress.resolve(host: endpoint.host, port: endpoint.port)
        } catch {
            throw .unreachable("cannot resolve \(endpoint.host)")
        }
        let (fd, result) = Socket.connect(to: address)
        switch result {
        case .failed(let code):
            throw .unreachable("connect to \(address): \(AdminTransportError.describe(code))")
        case .connected:
            break
        case .inProgress:
            guard FileIO.wait(fd, for: Int16(POLLOUT), until: deadline) else {
                FileIO.close(fd)
                throw .unreachable("connect to \(address): timed out")
            }
            let code = Socket.pendingError(fd)
            if code != 0 {
                FileIO.close(fd)
                throw .unreachable("connect to \(address): \(AdminTransportError.describe(code))")
            }
        }
        self.fd = fd
    }

    deinit {
        FileIO.close(fd)
    }

    /// Writes all of `bytes`.
    func send(_ bytes: [UInt8], timeoutSeconds: Int) throws(AdminTransportError) {
        var offset = 0
        while offset < bytes.count {
            let result = bytes.withUnsafeBytes { FileIO.write(fd, from: $0.baseAddress! + offset, count: $0.count - offset) }
            switch result {
            case .bytes(let n): offset += n
            case .wouldBlock, .endOfFile:
                guard FileIO.wait(fd, for: Int16(POLLOUT), until: deadline) else { throw .timedOut(seconds: timeoutSeconds) }
            case .failed(let code):
                throw .connectionLost(AdminTransportError.describe(code))
            }
        }
    }

    /// Reads what is available into `buffer`; nil at end of stream. Waits until `until` (monotonic
    /// nanoseconds), by default the connection's deadline, then throws `timedOut(seconds: timeoutSeconds)`.
    func receive(into buffer: inout [UInt8], timeoutSeconds: Int, until: UInt64? = nil) throws(AdminTransportError) -> Int? {
        let deadline = until ?? self.deadline
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let result = chunk.withUnsafeMutableBytes { FileIO.read(fd, into: $0.baseAddress!, count: $0.count) }
            switch result {
            case .bytes(let n):
                buffer.append(contentsOf: chunk[0..<n])
                return n
            case .endOfFile:
                return nil
            case .wouldBlock:
                guard FileIO.wait(fd, for: Int16(POLLIN), until: deadline) else { throw .timedOut(seconds: timeoutSeconds) }
            case .failed(let code):
                throw .connectionLost(AdminTransportError.describe(code))
            }
        }
    }
}
