/// Reads a secret kept in a file of its own: the admin API's bearer token, the same way for `serve` and `check`
/// (`admin.token_file`) and for the admin commands (`--token-file`), and etcd's password (`state.password_file`).
/// The file's content without surrounding whitespace and newlines; a token must be visible ASCII (RFC 6750's
/// token characters), a password only not empty.
enum SecretFile {
    /// Why the secret could not be read.
    struct Unreadable: Error, CustomStringConvertible {
        let description: String
    }

    /// Secret files are a line of text; anything larger is not one.
    static let maxBytes = 64 * 1024

    /// The token in `path`.
    static func read(_ path: String) throws(Unreadable) -> String {
        try read(path, kind: "token")
    }

    /// The secret in `path`: a `kind` of "token" must be visible ASCII, any other only not empty.
    static func read(_ path: String, kind: String) throws(Unreadable) -> String {
        let bytes: [UInt8]
        do {
            bytes = try SmallFile.read(path, limit: maxBytes)
        } catch {
            throw Unreadable(description: "cannot read the \(kind) file \(path): \(error.reason)")
        }
        let token = String(decoding: bytes, as: UTF8.self).trimmingSpaces()
        guard !token.isEmpty else { throw Unreadable(description: "the \(kind) file \(path) is empty") }
        guard kind != "token" || token.utf8.allSatisfy({ $0 >= 0x21 && $0 < 0x7F }) else {
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
