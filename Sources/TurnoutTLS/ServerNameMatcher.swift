/// Picks the certificate for the name a client asks for (SNI) from each certificate's own names: an exact name
/// first, then a wildcard (`*.example.com` covers `a.example.com`, not `example.com` nor `a.b.example.com`), the
/// earlier certificate when two have the name. Names compare without regard to ASCII case. Pure: the handshake's
/// callback feeds it the bytes OpenSSL hands over.
public struct ServerNameMatcher: Sendable {
    private var exact: [(name: [UInt8], index: Int)] = []
    /// Wildcards by what follows their `*`: `.example.com`.
    private var wildcardSuffixes: [(suffix: [UInt8], index: Int)] = []

    /// `names[i]` are the names certificate `i` serves.
    public init(names: [[String]]) {
        for (index, list) in names.enumerated() {
            for name in list {
                let bytes = Array(name.utf8).map(Self.lowercased)
                if bytes.count > 2 && bytes[0] == UInt8(ascii: "*") && bytes[1] == UInt8(ascii: ".") {
                    wildcardSuffixes.append((Array(bytes.dropFirst()), index))
                } else {
                    exact.append((bytes, index))
                }
            }
        }
    }

    /// The index of the certificate serving `name`, or nil when none has it.
    public func match(_ name: UnsafeBufferPointer<UInt8>) -> Int? {
        for entry in exact where Self.equalsIgnoringCase(name, entry.name[...]) { return entry.index }
        // A wildcard stands for exactly one label: the name's first label, then the suffix.
        guard let dot = name.firstIndex(of: UInt8(ascii: ".")), dot > 0 else { return nil }
        let rest = UnsafeBufferPointer(rebasing: name[dot...])
        for entry in wildcardSuffixes where Self.equalsIgnoringCase(rest, entry.suffix[...]) { return entry.index }
        return nil
    }

    /// `match` over a string (tests, status).
    public func match(_ name: String) -> Int? {
        var name = name
        return name.withUTF8 { match($0) }
    }

    private static func equalsIgnoringCase(_ a: UnsafeBufferPointer<UInt8>, _ b: ArraySlice<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        var j = b.startIndex
        for byte in a {
            if lowercased(byte) != b[j] { return false }
            j += 1
        }
        return true
    }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }
}
