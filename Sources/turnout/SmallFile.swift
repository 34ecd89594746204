import Glibc
import TurnoutPosix

/// A file the command line or the config names that is meant to be small (a secret, a deployment spec), read
/// whole. A missing file is an error like any other here, and every failure comes with its reason in words.
enum SmallFile {
    /// Why the file was not read: the system's words ("No such file or directory"), or that it is too large.
    struct Unreadable: Error {
        let reason: String
    }

    /// The bytes of `path`; more than `limit` of them is refused rather than read.
    static func read(_ path: String, limit: Int) throws(Unreadable) -> [UInt8] {
        let contents: [UInt8]?
        do {
            contents = try PosixFileSystem().readIfPresent(path, limit: limit)
        } catch {
            if error.errno == EFBIG { throw Unreadable(reason: "larger than \(limit) bytes") }
            throw Unreadable(reason: String(cString: strerror(error.errno)))
        }
        guard let contents else { throw Unreadable(reason: String(cString: strerror(ENOENT))) }
        return contents
    }
}
