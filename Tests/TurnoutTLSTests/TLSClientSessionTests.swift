import Foundation
import TurnoutCore
import TurnoutPosix
import TurnoutTLS
import XCTest

/// Upstream TLS sessions (`TLSClientContext`) against a server session of the data plane, over a non-blocking
/// socket pair: certificates made by the `openssl` CLI, handshakes stepped on both sides until done or failed.
final class TLSClientSessionTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "turnout-tls-client-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try makeAuthority("ca")
        try makeAuthority("other-ca")
        try openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "\(directory)/leaf.key",
                     "-out", "\(directory)/leaf.csr", "-subj", "/CN=upstream.test"])
        try "subjectAltName=DNS:upstream.test,IP:127.0.0.1\n".write(toFile: "\(directory)/san.ext", atomically: true, encoding: .utf8)
        try openssl(["x509", "-req", "-in", "\(directory)/leaf.csr", "-CA", "\(directory)/ca.pem", "-CAkey", "\(directory)/ca.key",
                     "-CAcreateserial", "-days", "2", "-extfile", "\(directory)/san.ext", "-out", "\(directory)/leaf.pem"])
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func testVerifiedHandshakeWithTheRightAuthorityAndNameCarriesBytes() throws {
        let (client, server) = try handshake(verify: true, caFile: "\(directory)/ca.pem", serverName: "upstream.test")
        XCTAssertEqual(client.step, .done)
        XCTAssertEqual(server.step, .done)
        XCTAssertEqual(write("GET / HTTP/1.1\r\n\r\n", client.session), 18)
        XCTAssertEqual(read(server.session), "GET / HTTP/1.1\r\n\r\n")
    }

    func testAnAddressIsCheckedAgainstTheCertificatesAddresses() throws {
        let (client, _) = try handshake(verify: true, caFile: "\(directory)/ca.pem", serverName: "127.0.0.1")
        XCTAssertEqual(client.step, .done)
    }

    func testCertificateFromAnotherAuthorityIsRefused() throws {
        let (client, _) = try handshake(verify: true, caFile: "\(directory)/other-ca.pem", serverName: "upstream.test")
        guard case .failed(_, let reason) = client.step else { return XCTFail("handshake was \(client.step)") }
        XCTAssertTrue(reason.hasPrefix("certificate verify failed: "), reason)
    }

    func testCertificateForAnotherNameIsRefused() throws {
        let (client, _) = try handshake(verify: true, caFile: "\(directory)/ca.pem", serverName: "elsewhere.test")
        guard case .failed(_, let reason) = client.step else { return XCTFail("handshake was \(client.step)") }
        XCTAssertTrue(reason.hasPrefix("certificate verify failed: "), reason)
    }

    func testWithoutVerifyAnyCertificateIsTaken() throws {
        let (client, _) = try handshake(verify: false, caFile: "\(directory)/other-ca.pem", serverName: "elsewhere.test")
        XCTAssertEqual(client.step, .done)
    }

    func testUnreadableAuthorityFileIsRefusedNamingIt() {
        XCTAssertThrowsError(try TLSClientContext(verify: true, caFile: "\(directory)/missing.pem")) { error in
            XCTAssertTrue("\(error)".hasPrefix("loading \(directory)/missing.pem: "), "\(error)")
        }
    }

    // MARK: - Whether a read drained the socket

    func testAReadThatTookTheOnlyRecordSaysTheSocketIsDrained() throws {
        let (client, server) = try handshake(verify: false, caFile: "\(directory)/ca.pem", serverName: "upstream.test")
        XCTAssertEqual(write("GET / HTTP/1.1\r\n\r\n", client.session), 18)
        XCTAssertEqual(read(server.session), "GET / HTTP/1.1\r\n\r\n")
        XCTAssertTrue(server.session.drained)
    }

    func testARecordLeftInTheSessionIsNotDrained() throws {
        let (client, server) = try handshake(verify: false, caFile: "\(directory)/ca.pem", serverName: "upstream.test")
        XCTAssertEqual(write("first", client.session), 5)
        XCTAssertEqual(write("second", client.session), 6)
        // One read(2) takes both records; the first read returns the first record's bytes only.
        XCTAssertEqual(read(server.session), "first")
        XCTAssertFalse(server.session.drained)
        XCTAssertEqual(read(server.session), "second")
        XCTAssertTrue(server.session.drained)
    }

    func testDrainedIsNeverSaidWhileBytesRemainInTheSocket() throws {
        let (client, server) = try handshake(verify: false, caFile: "\(directory)/ca.pem", serverName: "upstream.test")
        // 96 KiB: more than a read-ahead buffer holds, so reads find the socket still full.
        let sent = (0..<(96 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var written = 0
        while written < sent.count {
            let result = sent[written...].withUnsafeBytes { client.session.write(from: $0) }
            guard case .bytes(let n) = result else { return XCTFail("write: \(result)") }
            written += n
        }
        // Reads of more than a record: each returns one record's bytes, short of what was asked, while the socket
        // still holds records; only the session knows whether its last read(2) emptied the socket.
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 20_000)
        while received.count < sent.count {
            let result = buffer.withUnsafeMutableBytes { server.session.read(into: $0) }
            guard case .bytes(let n) = result else { return XCTFail("read after \(received.count) bytes: \(result)") }
            XCTAssertLessThan(n, buffer.count)
            received += buffer[..<n]
            if server.session.drained {
                XCTAssertEqual(received.count, sent.count, "drained with \(sent.count - received.count) bytes unread")
            }
        }
        XCTAssertEqual(received, sent)
        // Not said drained at the end (the last read(2) may have been a full one) costs one read more.
        let after = buffer.withUnsafeMutableBytes { server.session.read(into: $0) }
        XCTAssertEqual(after, .wouldBlock)
    }

    // MARK: - Helpers

    private struct Side {
        var session: TLSSession
        var step: TLSSession.HandshakeStep
    }

    /// Both sides' handshakes stepped in turn until neither moves.
    private func handshake(verify: Bool, caFile: String, serverName: String) throws -> (client: Side, server: Side) {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &fds), 0)
        addTeardownBlock { close(fds[0]); close(fds[1]) }
        let serverConfiguration = TLSServerConfiguration(
            certificates: [try TLSCertificate(certPath: "\(directory)/leaf.pem", keyPath: "\(directory)/leaf.key")],
            settings: ListenerTLSConfig(certificates: [.init(cert: "\(directory)/leaf.pem", key: "\(directory)/leaf.key")]))
        let serverContext = try TLSServerContext(serverConfiguration)
        let clientContext = try TLSClientContext(verify: verify, caFile: caFile)
        var client = Side(session: try XCTUnwrap(clientContext.makeSession(fd: fds[0], serverName: serverName)), step: .wantWrite)
        var server = Side(session: try XCTUnwrap(serverContext.makeSession(fd: fds[1])), step: .wantRead)
        for _ in 0..<20 {
            if client.step == .wantRead || client.step == .wantWrite { client.step = client.session.handshake() }
            if server.step == .wantRead || server.step == .wantWrite { server.step = server.session.handshake() }
        }
        return (client, server)
    }

    private func write(_ text: String, _ session: TLSSession) -> Int {
        var bytes = Array(text.utf8)
        guard case .bytes(let n) = bytes.withUnsafeMutableBytes({ session.write(from: UnsafeRawBufferPointer($0)) }) else { return -1 }
        return n
    }

    private func read(_ session: TLSSession) -> String {
        var bytes = [UInt8](repeating: 0, count: 256)
        guard case .bytes(let n) = bytes.withUnsafeMutableBytes({ session.read(into: $0) }) else { return "" }
        return String(decoding: bytes[..<n], as: UTF8.self)
    }

    private func makeAuthority(_ name: String) throws {
        try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                     "-keyout", "\(directory)/\(name).key", "-out", "\(directory)/\(name).pem", "-subj", "/CN=\(name)"])
    }

    private func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "openssl \(arguments.joined(separator: " "))")
    }
}
