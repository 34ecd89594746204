import Glibc

/// The real file system: each call is the system call, EINTR retried in `retryingOnInterrupt`.
public struct PosixFileSystem: FileSystem {
    public init() {}

    public func open(_ path: String, flags: Int32, mode: mode_t) throws(SystemError) -> Int32 {
        try checkedSyscall("open") { Glibc.open(path, flags, mode) }
    }

    public func close(_ fd: Int32) throws(SystemError) {
        if Glibc.close(fd) != 0 { throw SystemError("close", errno: errno) }
    }

    public func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int {
        try checkedSyscall("read") { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    public func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer) throws(SystemError) -> Int {
        try checkedSyscall("write") { Glibc.write(fd, buffer.baseAddress, buffer.count) }
    }

    public func fsync(_ fd: Int32) throws(SystemError) {
        _ = try checkedSyscall("fsync") { Glibc.fsync(fd) }
    }

    public func fdatasync(_ fd: Int32) throws(SystemError) {
        _ = try checkedSyscall("fdatasync") { Glibc.fdatasync(fd) }
    }

    public func ftruncate(_ fd: Int32, length: Int) throws(SystemError) {
        _ = try checkedSyscall("ftruncate") { Glibc.ftruncate(fd, off_t(length)) }
    }

    public func fchmod(_ fd: Int32, mode: mode_t) throws(SystemError) {
        _ = try checkedSyscall("fchmod") { Glibc.fchmod(fd, mode) }
    }

    public func size(_ fd: Int32) throws(SystemError) -> Int {
        var info = stat()
        _ = try checkedSyscall("fstat") { Glibc.fstat(fd, &info) }
        return Int(info.st_size)
    }

    public func rename(_ source: String, to destination: String) throws(SystemError) {
        _ = try checkedSyscall("rename") { Glibc.rename(source, destination) }
    }

    public func mkdir(_ path: String, mode: mode_t) throws(SystemError) {
        _ = try checkedSyscall("mkdir") { Glibc.mkdir(path, mode) }
    }

    public func unlink(_ path: String) throws(SystemError) {
        _ = try checkedSyscall("unlink") { Glibc.unlink(path) }
    }
}
