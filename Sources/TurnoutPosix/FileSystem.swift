import Glibc

/// The file system calls of the control plane's files (the state snapshot, the journal, the
/// token file), each EINTR-retried through `retryingOnInterrupt` and throwing what failed.
///
/// Code that writes durable files takes one of these instead of calling libc, so a test can put
/// a fault-injecting file system (ENOSPC, short writes, failed `fdatasync`, failed `rename`)
/// between it and the kernel. `PosixFileSystem` is the real one. Calls go through an
/// existential: this is for the control thread's files, never for the data path.
public protocol FileSystem {
    /// `open(2)`; the descriptor.
    func open(_ path: String, flags: Int32, mode: mode_t) throws(SystemError) -> Int32
    /// `close(2)`, not retried on EINTR (Linux releases the descriptor anyway).
    func close(_ fd: Int32) throws(SystemError)
    /// `read(2)`: how many bytes arrived, 0 at the end of the file.
    func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int
    /// `write(2)`: how many bytes were taken, which may be fewer than offered.
    func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer) throws(SystemError) -> Int
    func fsync(_ fd: Int32) throws(SystemError)
    func fdatasync(_ fd: Int32) throws(SystemError)
    func ftruncate(_ fd: Int32, length: Int) throws(SystemError)
    func fchmod(_ fd: Int32, mode: mode_t) throws(SystemError)
    /// The file's size (`fstat(2)`).
    func size(_ fd: Int32) throws(SystemError) -> Int
    func rename(_ source: String, to destination: String) throws(SystemError)
    func mkdir(_ path: String, mode: mode_t) throws(SystemError)
    func unlink(_ path: String) throws(SystemError)
}

/// A failed file operation: the system call, its errno and the path it was about.
public struct FileError: Error, Sendable, CustomStringConvertible {
    public let system: SystemError
    public let path: String

    public init(_ system: SystemError, path: String) {
        self.system = system
        self.path = path
    }

    public var errno: Int32 { system.errno }

    public var description: String { "\(system.call) \(path): \(String(cString: strerror(system.errno)))" }
}

/// What is at a path.
public enum FileKind: Sendable, Equatable {
    case regular
    case directory
    case other
}

extension FileSystem {
    /// Writes all of `bytes`, continuing after short writes. A write that takes nothing
    /// (which a regular file does only when it cannot grow) fails with ENOSPC.
    public func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let written = try bytes.withUnsafeBytes { buffer in
                Result { () throws(SystemError) in try write(fd, from: UnsafeRawBufferPointer(rebasing: buffer[offset...])) }
            }.get()
            if written == 0 { throw SystemError("write", errno: ENOSPC) }
            offset += written
        }
    }

    /// The whole file, or `nil` when it does not exist; more than `limit` bytes fail with EFBIG.
    public func readIfPresent(_ path: String, limit: Int = .max) throws(FileError) -> [UInt8]? {
        let fd: Int32
        do {
            fd = try open(path, flags: O_RDONLY | O_CLOEXEC, mode: 0)
        } catch {
            if error.errno == ENOENT { return nil }
            throw FileError(error, path: path)
        }
        defer { try? close(fd) }
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let result = chunk.withUnsafeMutableBytes { buffer in
                Result { () throws(SystemError) in try read(fd, into: buffer) }
            }
            let count: Int
            do {
                count = try result.get()
            } catch {
                throw FileError(error, path: path)
            }
            if count == 0 { return contents }
            contents.append(contentsOf: chunk[0..<count])
            if contents.count > limit { throw FileError(SystemError("read", errno: EFBIG), path: path) }
        }
    }

    /// Replaces `path` with `bytes` so that after a crash at any point the file holds either
    /// the old or the new contents, never a mix: write `temporaryPath` (mode 0600), fsync it,
    /// rename it over `path`, fsync the directory so the rename itself is durable. On a
    /// failure before the rename, `path` is untouched and the temporary file is removed.
    public func replaceDurably(_ path: String, with bytes: [UInt8], via temporaryPath: String, directory: String)
        throws(FileError)
    {
        let fd: Int32
        do {
            fd = try open(temporaryPath, flags: O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, mode: 0o600)
        } catch {
            throw FileError(error, path: temporaryPath)
        }
        do throws(SystemError) {
            // A temporary file left by a crash keeps its old mode through O_CREAT; force 0600.
            try fchmod(fd, mode: 0o600)
            try writeAll(fd, bytes)
            try fsync(fd)
        } catch {
            try? close(fd)
            try? unlink(temporaryPath)
            throw FileError(error, path: temporaryPath)
        }
        do {
            // close after fsync reports nothing new on Linux, but a failure still means the write is suspect.
            try close(fd)
        } catch {
            try? unlink(temporaryPath)
            throw FileError(error, path: temporaryPath)
        }
        do {
            try rename(temporaryPath, to: path)
        } catch {
            try? unlink(temporaryPath)
            throw FileError(error, path: path)
        }
        try syncDirectory(directory)
    }

    /// Creates `directory` and any missing parents with mode 0700, syncing each parent so
    /// the new entries survive a crash. Fails with ENOTDIR when something on the way is not a directory.
    public func makeDirectories(_ directory: String) throws(FileError) {
        if kind(of: directory) == .directory { return }
        let components = directory.split(separator: "/")
        var parent = directory.hasPrefix("/") ? "/" : "."
        for (index, component) in components.enumerated() {
            let next = switch parent {
            case "/": "/" + component
            case ".": String(component)
            default: parent + "/" + component
            }
            do {
                try mkdir(next, mode: 0o700)
            } catch {
                guard error.errno == EEXIST else { throw FileError(error, path: next) }
                // A parent that is not a directory fails the next mkdir with ENOTDIR; the last one has no next.
                if index == components.count - 1, kind(of: next) != .directory {
                    throw FileError(SystemError("mkdir", errno: ENOTDIR), path: next)
                }
                parent = next
                continue
            }
            try syncDirectory(parent)
            parent = next
        }
    }

    /// fsync on the directory itself, which makes renames and new entries in it durable.
    public func syncDirectory(_ directory: String) throws(FileError) {
        do throws(SystemError) {
            let fd = try open(directory, flags: O_RDONLY | O_DIRECTORY | O_CLOEXEC, mode: 0)
            defer { try? close(fd) }
            try fsync(fd)
        } catch {
            throw FileError(error, path: directory)
        }
    }

    /// What `path` is (following symlinks), or `nil` when nothing is there.
    public func kind(of path: String) -> FileKind? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFDIR: return .directory
        default: return .other
        }
    }

    /// Whether anything exists at `path` (without following a final symlink).
    public func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// Fails unless this process has `mode` (`W_OK`, `R_OK`, ...) on `path`: EACCES, EROFS.
    public func checkAccess(_ path: String, _ mode: Int32) throws(FileError) {
        if access(path, mode) != 0 { throw FileError(SystemError("access", errno: errno), path: path) }
    }
}
