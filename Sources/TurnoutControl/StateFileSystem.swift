import Glibc
import TurnoutPosix

/// The POSIX file operations behind the state file, each failure naming its path.
enum StateFileSystem {
    /// The whole file, or `nil` when it does not exist.
    static func readIfPresent(_ path: String) throws(StateStoreError) -> [UInt8]? {
        let (fd, err) = retryingOnInterrupt { open(path, O_RDONLY | O_CLOEXEC) }
        if fd < 0 {
            if err == ENOENT { return nil }
            throw .system(SystemError("open", errno: err), path: path)
        }
        defer { close(fd) }
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let (count, err) = chunk.withUnsafeMutableBytes { buffer in
                retryingOnInterrupt { read(fd, buffer.baseAddress, buffer.count) }
            }
            if count < 0 { throw .system(SystemError("read", errno: err), path: path) }
            if count == 0 { return contents }
            contents.append(contentsOf: chunk[0..<count])
        }
    }

    /// Replaces `path` with `bytes` so that after a crash at any point the file holds either
    /// the old or the new contents, never a mix: write `temporaryPath` (mode 0600), fsync it,
    /// rename it over `path`, fsync the directory so the rename itself is durable.
    static func replaceDurably(_ path: String, with bytes: [UInt8], via temporaryPath: String, directory: String)
        throws(StateStoreError)
    {
        let fd: Int32
        do {
            fd = try checkedSyscall("open") { open(temporaryPath, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0o600) }
        } catch {
            throw .system(error, path: temporaryPath)
        }
        do throws(SystemError) {
            // A temporary file left by a crash keeps its old mode through O_CREAT; force 0600.
            _ = try checkedSyscall("fchmod") { fchmod(fd, 0o600) }
            try writeAll(fd, bytes)
            _ = try checkedSyscall("fsync") { fsync(fd) }
        } catch {
            close(fd)
            unlink(temporaryPath)
            throw .system(error, path: temporaryPath)
        }
        // close after fsync reports nothing new on Linux, but a failure still means the write is suspect.
        if close(fd) != 0 {
            let err = errno
            unlink(temporaryPath)
            throw .system(SystemError("close", errno: err), path: temporaryPath)
        }
        do {
            _ = try checkedSyscall("rename") { rename(temporaryPath, path) }
        } catch {
            unlink(temporaryPath)
            throw .system(error, path: path)
        }
        try syncDirectory(directory)
    }

    /// Creates `directory` and any missing parents with mode 0700, syncing each parent so
    /// the new entries survive a crash.
    static func makeDirectories(_ directory: String) throws(StateStoreError) {
        var info = stat()
        if stat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR { return }
        let absolute = directory.hasPrefix("/")
        var parent = absolute ? "/" : "."
        for component in directory.split(separator: "/") {
            let next = switch parent {
            case "/": "/" + component
            case ".": String(component)
            default: parent + "/" + component
            }
            let (rc, err) = retryingOnInterrupt { mkdir(next, 0o700) }
            if rc == 0 {
                try syncDirectory(parent)
            } else if err != EEXIST {
                throw .system(SystemError("mkdir", errno: err), path: next)
            }
            parent = next
        }
    }

    /// fsync on the directory itself, which makes renames and new entries in it durable.
    static func syncDirectory(_ directory: String) throws(StateStoreError) {
        do throws(SystemError) {
            let fd = try checkedSyscall("open") { open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
            defer { close(fd) }
            _ = try checkedSyscall("fsync") { fsync(fd) }
        } catch {
            throw .system(error, path: directory)
        }
    }

    /// Whether anything exists at `path` (without following a final symlink).
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// The mode bits of `path`, for checks.
    static func permissions(_ path: String) -> mode_t? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return info.st_mode & 0o7777
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let (written, err) = bytes.withUnsafeBytes { buffer in
                retryingOnInterrupt { write(fd, buffer.baseAddress! + offset, buffer.count - offset) }
            }
            if written < 0 { throw SystemError("write", errno: err) }
            offset += written
        }
    }
}
