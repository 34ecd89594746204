/// Building request targets for the admin API.
enum AdminPath {
    /// `value` percent-encoded as one path segment: unreserved bytes and `:` stay, everything else
    /// (`/`, `[`, `]`, `%`, spaces, non-ASCII) is escaped.
    static func segment(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: ":"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%"
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte >> 4)]))
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte & 0x0F)]))
            }
        }
        return out
    }

    /// `path` with `?dry_run=true` when `dryRun` is set.
    static func withDryRun(_ path: String, _ dryRun: Bool) -> String {
        dryRun ? path + "?dry_run=true" : path
    }
}
