/// The one JSON reader: strict RFC 8259, for admin request bodies, journal records and state
/// snapshots alike, and for the admin API's answers in the CLI.
///
/// It refuses what lenient readers let through: trailing commas, duplicate keys, leading zeros,
/// numbers without digits after `.` or in the exponent, invalid escapes, lone UTF-16 surrogates,
/// unescaped control characters, invalid UTF-8, anything after the value, and nesting deeper than
/// `maxDepth`. A refusal names the place (`JSONSyntaxError`: byte offset, line and column, and the
/// key path of the value being read).
///
/// Keys are compared as Swift strings, so two spellings of the same text (`"a"` and `"\u0061"`, or
/// canonically equivalent Unicode) are duplicates. Whole numbers that fit `Int64` (`3`, `3.0`, `3e2`)
/// are read as `.int`, other numbers as `.double`; a number beyond `Double`'s range is refused.
public struct JSONReader {
    /// Deep enough for every document the control plane reads (request bodies are three levels
    /// deep, a snapshot with an audited body about eight); shallow enough that recursion is safe.
    public static let defaultMaxDepth = 64

    private let bytes: [UInt8]
    private let maxDepth: Int
    private var position = 0

    private init(_ bytes: [UInt8], maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    /// The JSON value that `bytes` hold, whole.
    public static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(JSONSyntaxError) -> JSONValue {
        var reader = JSONReader(bytes, maxDepth: maxDepth)
        reader.skipWhitespace()
        let value = try reader.value(depth: 1)
        try reader.expectEnd()
        return value
    }

    /// A top-level member: its value and the byte range of its JSON text.
    struct Member {
        let value: JSONValue
        let span: Range<Int>
    }

    /// The members of the object that `bytes` hold, whole, each with the byte range of its value
    /// (the state file checks a checksum over one member's bytes as they stand).
    static func topLevelMembers(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(JSONSyntaxError) -> [String: Member] {
        var reader = JSONReader(bytes, maxDepth: maxDepth)
        reader.skipWhitespace()
        guard reader.peek == UInt8(ascii: "{") else { throw reader.failure("expected an object, found \(reader.found)") }
        var members: [String: Member] = [:]
        try reader.members(depth: 1) { (key, reader) throws(JSONSyntaxError) in
            let start = reader.position
            let value = try reader.value(depth: 2)
            if members[key] != nil { return false }
            members[key] = Member(value: value, span: start..<reader.position)
            return true
        }
        try reader.expectEnd()
        return members
    }

    // MARK: - Values

    private var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func value(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        guard let byte = peek else { throw failure("expected a value, found \(found)") }
        switch byte {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default: throw failure("expected a value, found \(found)")
        }
    }

    private mutating func object(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        var members: [String: JSONValue] = [:]
        try self.members(depth: depth) { (key, reader) throws(JSONSyntaxError) in
            let value = try reader.value(depth: depth + 1)
            return members.updateValue(value, forKey: key) == nil
        }
        return .object(members)
    }

    /// Reads `{ "key": value, ... }`, handing each key to `member`, which reads the value and
    /// answers false for a key it already had. Errors inside a member carry its key in their path.
    private mutating func members(
        depth: Int, _ member: (String, inout JSONReader) throws(JSONSyntaxError) -> Bool
    ) throws(JSONSyntaxError) {
        try enter(depth: depth)
        position += 1  // "{"
        skipWhitespace()
        if peek == UInt8(ascii: "}") {
            position += 1
            return
        }
        while true {
            guard peek == UInt8(ascii: "\"") else { throw failure("expected a key in double quotes, found \(found)") }
            let keyStart = position
            let key = try string()
            skipWhitespace()
            guard peek == UInt8(ascii: ":") else { throw failure("expected ':' after the key, found \(found)") }
            position += 1
            skipWhitespace()
            let isNew: Bool
            do {
                isNew = try member(key, &self)
            } catch {
                throw error.inside(.key(key))
            }
            guard isNew else { throw failure("duplicate key '\(key)'", at: keyStart) }
            if try closes(UInt8(ascii: "}"), after: "a member") { return }
        }
    }

    private mutating func array(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        try enter(depth: depth)
        position += 1  // "["
        skipWhitespace()
        var elements: [JSONValue] = []
        if peek == UInt8(ascii: "]") {
            position += 1
            return .array(elements)
        }
        while true {
            do {
                elements.append(try value(depth: depth + 1))
            } catch {
                throw error.inside(.index(elements.count))
            }
            if try closes(UInt8(ascii: "]"), after: "an element") { return .array(elements) }
        }
    }

    /// After a member or an element: a comma (not followed by `closing`: no trailing commas), or
    /// `closing`, which ends the container (true).
    private mutating func closes(_ closing: UInt8, after what: String) throws(JSONSyntaxError) -> Bool {
        skipWhitespace()
        let bracket = Character(Unicode.Scalar(closing))
        if peek == closing {
            position += 1
            return true
        }
        guard peek == UInt8(ascii: ",") else { throw failure("expected ',' or '\(bracket)' after \(what), found \(found)") }
        let comma = position
        position += 1
        skipWhitespace()
        if peek == closing { throw failure("trailing comma before '\(bracket)'", at: comma) }
        return false
    }

    private func enter(depth: Int) throws(JSONSyntaxError) {
        if depth > maxDepth { throw failure("nesting deeper than \(maxDepth) levels") }
    }

    private mutating func literal(_ word: String) throws(JSONSyntaxError) {
        let end = position + word.utf8.count
        guard end <= bytes.count, bytes[position..<end].elementsEqual(word.utf8) else {
            throw failure("invalid literal; expected \(word)")
        }
        position = end
    }

    // MARK: - Numbers

    private mutating func number() throws(JSONSyntaxError) -> JSONValue {
        let start = position
        if peek == UInt8(ascii: "-") {
            position += 1
            guard let byte = peek, JSONByte.isDigit(byte) else { throw failure("expected a digit after '-', found \(found)") }
        }
        if peek == UInt8(ascii: "0") {
            position += 1
            if let byte = peek, JSONByte.isDigit(byte) { throw failure("leading zero in a number", at: position - 1) }
        } else {
            skipDigits()
        }
        var isInteger = true
        if peek == UInt8(ascii: ".") {
            position += 1
            guard let byte = peek, JSONByte.isDigit(byte) else { throw failure("expected a digit after '.', found \(found)") }
            skipDigits()
            isInteger = false
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            position += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { position += 1 }
            guard let byte = peek, JSONByte.isDigit(byte) else { throw failure("expected a digit in the exponent, found \(found)") }
            skipDigits()
            isInteger = false
        }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        if isInteger, let integer = Int64(text) { return .int(integer) }
        guard let double = Double(text), double.isFinite else { throw failure("number out of range", at: start) }
        // JSON does not tell 3.0 from 3, and the writer writes a whole double as an integer.
        if let integer = Int64(exactly: double) { return .int(integer) }
        return .double(double)
    }

    private mutating func skipDigits() {
        while let byte = peek, JSONByte.isDigit(byte) { position += 1 }
    }

    // MARK: - Strings

    /// A string from its opening quote to its closing one, escapes decoded.
    private mutating func string() throws(JSONSyntaxError) -> String {
        let opening = position
        position += 1
        var decoded: [UInt8] = []
        var segment = position
        while true {
            guard let byte = peek else { throw failure("unterminated string", at: opening) }
            switch byte {
            case UInt8(ascii: "\""):
                decoded.append(contentsOf: bytes[segment..<position])
                position += 1
                guard let text = String(validating: decoded, as: UTF8.self) else {
                    throw failure("invalid UTF-8 in a string", at: opening)
                }
                return text
            case UInt8(ascii: "\\"):
                decoded.append(contentsOf: bytes[segment..<position])
                try escape(into: &decoded)
                segment = position
            case 0..<0x20:
                throw failure("unescaped control character U+\(JSONReader.hex(UInt32(byte), digits: 4)) in a string")
            default:
                position += 1
            }
        }
    }

    /// Decodes the escape at `position` (a backslash) into UTF-8.
    private mutating func escape(into decoded: inout [UInt8]) throws(JSONSyntaxError) {
        let start = position
        position += 1
        guard let byte = peek else { throw failure("unterminated string") }
        position += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): decoded.append(byte)
        case UInt8(ascii: "b"): decoded.append(0x08)
        case UInt8(ascii: "f"): decoded.append(0x0C)
        case UInt8(ascii: "n"): decoded.append(0x0A)
        case UInt8(ascii: "r"): decoded.append(0x0D)
        case UInt8(ascii: "t"): decoded.append(0x09)
        case UInt8(ascii: "u"):
            let unit = try hexQuad(escapeStart: start)
            var scalar = unit
            if (0xD800...0xDBFF).contains(unit) {
                // A high surrogate must be followed at once by an escaped low one.
                let next = position
                guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u")
                else { throw failure("lone surrogate \\u\(JSONReader.hex(unit, digits: 4))", at: start) }
                position += 2
                let low = try hexQuad(escapeStart: next)
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw failure("lone surrogate \\u\(JSONReader.hex(unit, digits: 4))", at: start)
                }
                scalar = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(unit) {
                throw failure("lone surrogate \\u\(JSONReader.hex(unit, digits: 4))", at: start)
            }
            decoded.append(contentsOf: UTF8.encode(Unicode.Scalar(scalar)!)!)
        default:
            let shown = (0x21..<0x7F).contains(byte) ? "'\\\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(JSONReader.hex(UInt32(byte), digits: 2))"
            throw failure("invalid escape \(shown)", at: start)
        }
    }

    /// The four hex digits after `\u`.
    private mutating func hexQuad(escapeStart: Int) throws(JSONSyntaxError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = peek, let digit = JSONByte.hexValue(byte) else {
                throw failure("expected 4 hex digits after '\\u'", at: escapeStart)
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    // MARK: - Whitespace, the end, failures

    private mutating func skipWhitespace() {
        while let byte = peek, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { position += 1 }
    }

    private mutating func expectEnd() throws(JSONSyntaxError) {
        skipWhitespace()
        guard position == bytes.count else { throw failure("expected the end of the input after the value, found \(found)") }
    }

    /// What stands at `position`, for messages: `'x'`, `byte 0xFF` or `the end of the input`.
    private var found: String {
        guard let byte = peek else { return "the end of the input" }
        if (0x20..<0x7F).contains(byte) { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x\(JSONReader.hex(UInt32(byte), digits: 2))"
    }

    private func failure(_ reason: String, at offset: Int? = nil) -> JSONSyntaxError {
        JSONSyntaxError(reason: reason, offset: offset ?? position, in: bytes)
    }

    static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}

/// Why bytes are not the JSON expected, and where: the byte offset, the line and column (both from
/// 1; columns count characters), and the key path of the value being read (`listeners.production`,
/// `targets[2]`; empty at the top level).
public struct JSONSyntaxError: Error, Equatable, CustomStringConvertible {
    public let reason: String
    /// From 0.
    public let offset: Int
    public let line: Int
    public let column: Int
    /// Outermost first.
    public private(set) var path: [PathComponent] = []

    public enum PathComponent: Equatable, Sendable {
        case key(String)
        case index(Int)
    }

    init(reason: String, offset: Int, in bytes: [UInt8]) {
        self.reason = reason
        self.offset = offset
        var line = 1, column = 1
        for byte in bytes[..<min(offset, bytes.count)] {
            if byte == 0x0A {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {  // not a UTF-8 continuation byte
                column += 1
            }
        }
        self.line = line
        self.column = column
    }

    /// The same error, seen from the container that holds `component`.
    func inside(_ component: PathComponent) -> JSONSyntaxError {
        var error = self
        error.path.insert(component, at: 0)
        return error
    }

    /// The path as people write it: `listeners.production.blue`, `targets[2]`, `["odd key"]`.
    public var pathDescription: String {
        var text = ""
        for component in path {
            switch component {
            case .index(let index):
                text += "[\(index)]"
            case .key(let key):
                let plain = !key.isEmpty && key.utf8.allSatisfy { JSONByte.isAlphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
                if plain {
                    text += text.isEmpty ? key : ".\(key)"
                } else {
                    var quoted: [UInt8] = []
                    JSONValue.writeString(key, into: &quoted)
                    text += "[\(String(decoding: quoted, as: UTF8.self))]"
                }
            }
        }
        return text
    }

    /// `line 1, column 14: trailing comma before '}' (in listeners.production)`.
    public var description: String {
        let location = "line \(line), column \(column): \(reason)"
        return path.isEmpty ? location : "\(location) (in \(pathDescription))"
    }
}

/// The byte classes the reader needs.
private enum JSONByte {
    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    static func isAlphanumeric(_ byte: UInt8) -> Bool { isDigit(byte) || ((byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")) }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
