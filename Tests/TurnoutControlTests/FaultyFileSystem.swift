import Glibc
import TurnoutPosix

/// The real file system with the faults a test arms in between: a call that fails with an
/// errno and does nothing, a write that takes only part of its bytes, a call that reports
/// success and does nothing. Records every call, so a test can check what the code did.
final class FaultyFileSystem: FileSystem {
    enum Call: String {
        case open, close, read, write, fsync, fdatasync, ftruncate, fchmod, size, rename, mkdir, unlink
    }

    enum Fault: Equatable {
        /// The call runs as usual (to arm a fault for a later call).
        case pass
        /// The call fails with this errno and does nothing.
        case fail(Int32)
        /// (`write`) Takes only this many bytes.
        case shortWrite(Int)
        /// The call reports success and does nothing.
        case pretend
    }

    private let real = PosixFileSystem()
    private var once: [Call: [Fault]] = [:]
    private var always: [Call: Fault] = [:]
    /// Every call made, in order.
    private(set) var calls: [Call] = []

    /// The next `call` meets `fault` (faults armed for one call are met in the order armed).
    func inject(_ fault: Fault, into call: Call) { once[call, default: []].append(fault) }

    /// Every `call` meets `fault` until `heal()`.
    func injectAlways(_ fault: Fault, into call: Call) { always[call] = fault }

    /// No more faults.
    func heal() {
        once = [:]
        always = [:]
    }

    /// The fault this call meets; a `fail` is thrown here.
    private func meet(_ call: Call, _ name: StaticString) throws(SystemError) -> Fault? {
        calls.append(call)
        var fault = always[call]
        if var queue = once[call], !queue.isEmpty {
            fault = queue.removeFirst()
            once[call] = queue
        }
        if case .fail(let code)? = fault { throw SystemError(name, errno: code) }
        return fault
    }

    func open(_ path: String, flags: Int32, mode: mode_t) throws(SystemError) -> Int32 {
        _ = try meet(.open, "open")
        return try real.open(path, flags: flags, mode: mode)
    }

    func close(_ fd: Int32) throws(SystemError) {
        // Linux releases the descriptor even when close fails, so the real close always happens.
        do {
            _ = try meet(.close, "close")
        } catch {
            try? real.close(fd)
            throw error
        }
        try real.close(fd)
    }

    func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int {
        _ = try meet(.read, "read")
        return try real.read(fd, into: buffer)
    }

    func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer) throws(SystemError) -> Int {
        switch try meet(.write, "write") {
        case .shortWrite(let count)?: try real.write(fd, from: UnsafeRawBufferPointer(rebasing: buffer.prefix(count)))
        case .pretend?: buffer.count
        default: try real.write(fd, from: buffer)
        }
    }

    func fsync(_ fd: Int32) throws(SystemError) {
        if try meet(.fsync, "fsync") == .pretend { return }
        try real.fsync(fd)
    }

    func fdatasync(_ fd: Int32) throws(SystemError) {
        if try meet(.fdatasync, "fdatasync") == .pretend { return }
        try real.fdatasync(fd)
    }

    func ftruncate(_ fd: Int32, length: Int) throws(SystemError) {
        if try meet(.ftruncate, "ftruncate") == .pretend { return }
        try real.ftruncate(fd, length: length)
    }

    func fchmod(_ fd: Int32, mode: mode_t) throws(SystemError) {
        if try meet(.fchmod, "fchmod") == .pretend { return }
        try real.fchmod(fd, mode: mode)
    }

    func size(_ fd: Int32) throws(SystemError) -> Int {
        _ = try meet(.size, "fstat")
        return try real.size(fd)
    }

    func rename(_ source: String, to destination: String) throws(SystemError) {
        if try meet(.rename, "rename") == .pretend { return }
        try real.rename(source, to: destination)
    }

    func mkdir(_ path: String, mode: mode_t) throws(SystemError) {
        if try meet(.mkdir, "mkdir") == .pretend { return }
        try real.mkdir(path, mode: mode)
    }

    func unlink(_ path: String) throws(SystemError) {
        if try meet(.unlink, "unlink") == .pretend { return }
        try real.unlink(path)
    }
}
