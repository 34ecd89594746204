import Foundation
import Glibc
import TurnoutPosix
import XCTest

/// A unix datagram socket bound where systemd would listen: what each notification put in it.
private final class NotifySocket {
    let fd: Int32
    /// A filesystem path, or `@name` for the abstract namespace, as `NOTIFY_SOCKET` would give it.
    let name: String
    private let path: String?

    init(abstract: Bool) throws {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket", errno: errno) }
        let unique = "turnout-notify-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        name = abstract ? "@" + unique : NSTemporaryDirectory() + unique
        path = abstract ? nil : name
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(name.utf8)
        if abstract { bytes[0] = 0 }
        withUnsafeMutableBytes(of: &address.sun_path) { sunPath in
            for (index, byte) in bytes.enumerated() { sunPath[index] = byte }
        }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)! + bytes.count + (abstract ? 0 : 1))
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard rc == 0 else { throw SystemError("bind", errno: errno) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// The next datagram as text (waits at most 5 s).
    func receive() throws -> String {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(fd, &buffer, buffer.count, 0)
        guard count >= 0 else { throw SystemError("recv", errno: errno) }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }

    func close() {
        Glibc.close(fd)
        if let path { unlink(path) }
    }
}

final class ServiceNotifierTests: XCTestCase {
    func testNotificationsArriveAsOneDatagramEachAtAPath() throws {
        let systemd = try NotifySocket(abstract: false)
        defer { systemd.close() }
        let notifier = try XCTUnwrap(try ServiceNotifier.fromEnvironment(["NOTIFY_SOCKET": systemd.name]))

        try notifier.ready(status: "serving 2 listeners\nrouting table generation 1")
        XCTAssertEqual(try systemd.receive(), "READY=1\nSTATUS=serving 2 listeners routing table generation 1")

        let before = MonotonicClock.now() / 1000
        try notifier.reloading()
        let after = MonotonicClock.now() / 1000
        let reloading = try systemd.receive().split(separator: "\n").map(String.init)
        XCTAssertEqual(reloading.count, 3, "\(reloading)")
        XCTAssertEqual(reloading[0], "RELOADING=1")
        let stamp = try XCTUnwrap(reloading[1].hasPrefix("MONOTONIC_USEC=") ? UInt64(reloading[1].dropFirst(15)) : nil)
        XCTAssertTrue((before...after).contains(stamp), "MONOTONIC_USEC \(stamp) is CLOCK_MONOTONIC in µs, within \(before)...\(after)")
        XCTAssertEqual(reloading[2], "STATUS=reloading the configuration")

        try notifier.stopping(status: "draining")
        XCTAssertEqual(try systemd.receive(), "STOPPING=1\nSTATUS=draining")
    }

    func testAnAbstractSocketIsNamedWithAnAt() throws {
        let systemd = try NotifySocket(abstract: true)
        defer { systemd.close() }
        let notifier = try ServiceNotifier(socketPath: systemd.name)
        try notifier.send(["READY=1"])
        XCTAssertEqual(try systemd.receive(), "READY=1")
    }

    func testNoSocketMeansNoNotifier() throws {
        XCTAssertNil(try ServiceNotifier.fromEnvironment([:]))
        XCTAssertNil(try ServiceNotifier.fromEnvironment(["NOTIFY_SOCKET": ""]))
    }

    func testAnAddressThatIsNoUnixSocketIsRefused() {
        XCTAssertThrowsError(try ServiceNotifier(socketPath: "relative/notify")) { error in
            XCTAssertEqual((error as? SystemError)?.errno, EAFNOSUPPORT)
        }
        XCTAssertThrowsError(try ServiceNotifier(socketPath: "/" + String(repeating: "x", count: 200))) { error in
            XCTAssertEqual((error as? SystemError)?.errno, ENAMETOOLONG)
        }
    }

    func testASocketNobodyListensOnFailsTheSend() throws {
        let notifier = try ServiceNotifier(socketPath: NSTemporaryDirectory() + "turnout-notify-nobody-\(getpid())")
        XCTAssertThrowsError(try notifier.send(["READY=1"])) { error in
            XCTAssertEqual((error as? SystemError)?.errno, ENOENT)
        }
    }
}
