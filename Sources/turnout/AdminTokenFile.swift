import Glibc

/// Reads the bearer token: the file's content without surrounding whitespace and newlines.
enum AdminTokenFile {
    /// Why the token could not be read.
    struct Unreadable: Error, CustomStringConvertible {
        let description: String
    }

    /// Token files are a line of text; anything larger is not one.
    static let maxBytes = 64 * 1024

    static func read(_ path: String) throws(Unreadable) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw Unreadable(description: "cannot read the token file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Unreadable(description: "cannot read the token file \(path): \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
            guard bytes.count <= maxBytes else {
                throw Unreadable(description: "the token file \(path) is larger than \(maxBytes) bytes")
            }
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
