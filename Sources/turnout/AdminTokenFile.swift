import Glibc
import TurnoutPosix

/// Reads the admin API's bearer token, the same way for `serve` and `check` (`admin.token_file`)
/// and for the admin commands (`--token-file`): the file's content without surrounding
/// whitespace and newlines, which must be visible ASCII (RFC 6750's token characters).
enum AdminTokenFile {
    /// Why the token could not be read.
    struct Unreadable: Error, CustomStringConvertible {
        let description: String
    }

    /// Token files are a line of text; anything larger is not one.
    static let maxBytes = 64 * 1024

    static func read(_ path: String) throws(Unreadable) -> String {
        let contents: [UInt8]?
        do {
            contents = try PosixFileSystem().readIfPresent(path, limit: maxBytes)
        } catch {
            if error.errno == EFBIG { throw Unreadable(description: "the token file \(path) is larger than \(maxBytes) bytes") }
            throw Unreadable(description: "cannot read the token file \(path): \(String(cString: strerror(error.errno)))")
        }
        guard let bytes = contents else {
            throw Unreadable(description: "cannot read the token file \(path): \(String(cString: strerror(ENOENT)))")
        }
        let token = String(decoding: bytes, as: UTF8.self).trimmingSpaces()
        guard !token.isEmpty else { throw Unreadable(description: "the token file \(path) is empty") }
        guard token.utf8.allSatisfy({ $0 >= 0x21 && $0 < 0x7F }) else {
            throw Unreadable(description: "the token in \(path) must be visible ASCII without spaces")
        }
        return token
    }
}

extension String {
    /// Without leading and trailing spaces, tabs, CR and LF.
    fileprivate func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
