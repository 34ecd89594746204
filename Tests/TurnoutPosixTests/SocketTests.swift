import Glibc
import TurnoutPosix
import XCTest

/// A TCP connection over loopback made with TurnoutPosix itself: both ends non-blocking, as `connect` and
/// `accept` leave them.
private struct LoopbackPair {
    let client: Int32
    let server: Int32

    init() throws {
        let listener = try Socket.listen(on: SocketAddress.resolve(host: "127.0.0.1", port: 0), reusePort: false)
        defer { FileIO.close(listener) }
        let (client, result) = Socket.connect(to: try Socket.localAddress(listener))
        if case .failed(let error) = result { throw SystemError("connect", errno: error) }
        var peer = SocketAddress(storage: sockaddr_storage(), length: 0)
        var accepted: (fd: Int32, errno: Int32) = (-1, EAGAIN)
        for _ in 0..<1000 where accepted.fd < 0 {
            accepted = Socket.accept(listener, peer: &peer)
            if accepted.fd < 0 { PosixThread.sleep(milliseconds: 1) }
        }
        guard accepted.fd >= 0 else { throw SystemError("accept4", errno: accepted.errno) }
        self.client = client
        server = accepted.fd
    }

    func close() {
        FileIO.close(client)
        FileIO.close(server)
    }
}

final class SocketTests: XCTestCase {
    func testNumericAddressesParseWithoutALookupAndNamesDoNot() throws {
        XCTAssertEqual(SocketAddress.numeric(host: "127.0.0.1", port: 3000)?.description, "127.0.0.1:3000")
        XCTAssertEqual(SocketAddress.numeric(host: "::1", port: 3000)?.description, "[::1]:3000")
        XCTAssertEqual(SocketAddress.numeric(host: "::1", port: 3000)?.numericHost, "::1")
        XCTAssertNil(SocketAddress.numeric(host: "localhost", port: 3000), "a name is never looked up here")
        XCTAssertNil(SocketAddress.numeric(host: "127.0.0.300", port: 3000))
    }

    func testLookUpGivesEveryAddressOnceAndNamesTheFailure() throws {
        XCTAssertEqual(try SocketAddress.lookUp(host: "127.0.0.1", port: 80).map(\.description), ["127.0.0.1:80"])
        XCTAssertThrowsError(try SocketAddress.lookUp(host: "", port: 80)) { error in
            XCTAssertEqual((error as? NameLookupError)?.description, "name or service not known")
        }
    }

    func testSetBlockingClearsNonBlockingAndAReadWaitsForData() throws {
        let pair = try LoopbackPair()
        defer { pair.close() }
        XCTAssertNotEqual(fcntl(pair.server, F_GETFL) & O_NONBLOCK, 0, "accept leaves the socket non-blocking")
        var byte: UInt8 = 0
        XCTAssertEqual(FileIO.read(pair.server, into: &byte, count: 1), .wouldBlock)

        try Socket.setBlocking(pair.server)
        XCTAssertEqual(fcntl(pair.server, F_GETFL) & O_NONBLOCK, 0)
        let client = pair.client
        let writer = try PosixThread(name: "test-writer") {
            PosixThread.sleep(milliseconds: 50)
            var sent = UInt8(ascii: "x")
            _ = FileIO.write(client, from: &sent, count: 1)
        }
        // Non-blocking, this read would return wouldBlock at once; blocking, it waits for the writer's byte.
        XCTAssertEqual(FileIO.read(pair.server, into: &byte, count: 1), .bytes(1))
        XCTAssertEqual(byte, UInt8(ascii: "x"))
        writer.join()
    }

    func testUnacknowledgedBytesCountsWhatThePeerHasNotAcknowledged() throws {
        let pair = try LoopbackPair()
        defer { pair.close() }
        XCTAssertEqual(Socket.unacknowledgedBytes(pair.client), 0)

        // The peer reads nothing: once its receive buffer is full, what is written stays in the send queue.
        let chunk = [UInt8](repeating: 7, count: 64 * 1024)
        var written = 0
        while case .bytes(let count) = chunk.withUnsafeBytes({ FileIO.write(pair.client, from: $0.baseAddress!, count: $0.count) }) {
            written += count
        }
        XCTAssertGreaterThan(Socket.unacknowledgedBytes(pair.client), 0)
        XCTAssertLessThanOrEqual(Socket.unacknowledgedBytes(pair.client), written)

        // Once the peer has read everything, everything has been acknowledged.
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var read = 0
        var attempts = 0
        while read < written, attempts < 10_000 {
            switch buffer.withUnsafeMutableBytes({ FileIO.read(pair.server, into: $0.baseAddress!, count: $0.count) }) {
            case .bytes(let count): read += count
            default: PosixThread.sleep(milliseconds: 1)
            }
            attempts += 1
        }
        XCTAssertEqual(read, written)
        attempts = 0
        while Socket.unacknowledgedBytes(pair.client) > 0, attempts < 5000 {
            PosixThread.sleep(milliseconds: 1)
            attempts += 1
        }
        XCTAssertEqual(Socket.unacknowledgedBytes(pair.client), 0)
    }

    func testUnacknowledgedBytesIsZeroForADescriptorThatIsNoSocket() {
        XCTAssertEqual(Socket.unacknowledgedBytes(-1), 0)
    }
}
