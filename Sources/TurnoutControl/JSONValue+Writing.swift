/// Compact JSON output with keys in sorted order, written directly into bytes.
///
/// The admin API's replies, log lines and journal records are written here rather than with
/// Foundation's `JSONEncoder`: on a switch, encoding the journal record and the reply that way
/// took about as long as the record's fdatasync. The output is the same as `JSONEncoder` with
/// `[.sortedKeys, .withoutEscapingSlashes]` for every value the control plane produces, so the
/// journals and snapshots earlier builds wrote have the layout this one writes
/// (`JSONValueWritingTests` compares byte for byte).
extension JSONValue {
    /// The value as compact UTF-8 JSON.
    public var jsonBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(into: &out)
        return out
    }

    /// The value as compact JSON text (log lines, the CLI's display of an open-ended value).
    public var jsonText: String {
        String(decoding: jsonBytes, as: UTF8.self)
    }

    /// Appends the value as compact JSON to `out`.
    public func write(into out: inout [UInt8]) {
        switch self {
        case .null:
            out.append(contentsOf: "null".utf8)
        case .bool(let value):
            out.append(contentsOf: (value ? "true" : "false").utf8)
        case .int(let value):
            out.append(contentsOf: String(value).utf8)
        case .double(let value):
            // JSON has no NaN or infinity; parsed input never holds them.
            guard value.isFinite else { out.append(contentsOf: "null".utf8); return }
            if value == value.rounded(.towardZero) && abs(value) < 1e15 {
                out.append(contentsOf: String(Int64(value)).utf8)  // as JSONEncoder: 3.0 is written 3
            } else {
                out.append(contentsOf: value.description.utf8)
            }
        case .string(let value):
            JSONValue.writeString(value, into: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                element.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSONValue.writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                members[key]!.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped; other
    /// characters (slashes and non-ASCII included) as they are, in UTF-8.
    static func writeString(_ string: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
            case 0x0A: out.append(contentsOf: #"\n"#.utf8)
            case 0x0D: out.append(contentsOf: #"\r"#.utf8)
            case 0x09: out.append(contentsOf: #"\t"#.utf8)
            case 0x08: out.append(contentsOf: #"\b"#.utf8)
            case 0x0C: out.append(contentsOf: #"\f"#.utf8)
            case 0..<0x20:
                out.append(contentsOf: #"\u00"#.utf8)
                out.append(hexDigit(byte >> 4))
                out.append(hexDigit(byte & 0x0F))
            default:
                out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// The lowercase hex digit of `value` (0...15), as JSONEncoder writes escapes.
    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }
}
