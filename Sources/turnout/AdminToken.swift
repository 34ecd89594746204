import Foundation

/// The admin API's bearer token, read once at start from `admin.token_file`.
enum AdminToken {
    struct Failure: Error, CustomStringConvertible { let description: String }

    static func read(_ path: String?) throws -> String? {
        guard let path else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Failure(description: "cannot read \(path)")
        }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else { throw Failure(description: "\(path) is empty") }
        return token
    }
}
