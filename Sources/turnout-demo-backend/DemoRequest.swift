import TurnoutHTTP1

/// The request an exchange serves: TurnoutHTTP1's parsed head and field table over a copy of the head's bytes
/// (the receive buffer is reused for the body, the copy outlives that), with what the handlers ask of it.
struct DemoRequest {
    let head: RequestHead
    /// The fields of `head`; the connection's table, overwritten by the next request's head.
    let fields: HeaderFieldTable
    /// The received bytes up to the end of the head (leading empty lines included): the ranges point here.
    private let bytes: [UInt8]

    /// Copies the head `head` parsed from the start of `source` into `fields`.
    init(_ head: RequestHead, fields: HeaderFieldTable, source: UnsafeRawBufferPointer) {
        self.head = head
        self.fields = fields
        bytes = Array(source[0..<head.headLength])
    }

    /// The method token as received.
    var method: String { text(head.methodRange) }

    /// The request target up to its query.
    var path: String {
        let target = bytes[head.target.lowerBound..<head.target.upperBound]
        return String(decoding: target.prefix { $0 != UInt8(ascii: "?") }, as: UTF8.self)
    }

    /// The head exactly as received, request line through the empty line (without empty lines sent before it).
    var rawHead: ArraySlice<UInt8> { bytes[head.methodRange.lowerBound..<head.headLength] }

    /// The value of the first X-Request-Id field, if any.
    var requestId: ArraySlice<UInt8>? {
        fields.firstIndex(of: .xRequestId).map { slice(fields[$0].value) }
    }

    /// The value of the first field named `lowercaseName` (ASCII case ignored), if any.
    func value(named lowercaseName: StaticString) -> String? {
        let index = bytes.withUnsafeBytes { fields.firstIndex(named: lowercaseName, in: $0) }
        return index.map { text(fields[$0].value) }
    }

    /// Whether a field of `kind` lists `lowercaseToken` (ASCII case ignored).
    func lists(_ lowercaseToken: StaticString, inFieldsOf kind: KnownHeader) -> Bool {
        bytes.withUnsafeBytes { fields.containsToken(lowercaseToken, inFieldsOf: kind, in: $0) }
    }

    /// The value of the query parameter `name` (the last one when repeated; not percent-decoded), "" when it has
    /// no `=`, nil when absent.
    func query(_ name: String) -> Substring? {
        let target = text(head.target)
        guard let mark = target.firstIndex(of: "?") else { return nil }
        var found: Substring?
        for pair in target[target.index(after: mark)...].split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if parts[0] == name { found = parts.count == 2 ? parts[1] : "" }
        }
        return found
    }

    /// The query parameter `name` as a decimal integer within `range`.
    func integerQuery(_ name: String, in range: ClosedRange<Int>) -> IntegerQuery {
        guard let text = query(name) else { return .missing }
        guard !text.isEmpty, text.count <= 18, text.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(text),
              range.contains(value)
        else { return .invalid }
        return .value(value)
    }

    /// Whether the query parameter `name` is `1` or `true`.
    func flagQuery(_ name: String) -> Bool {
        let value = query(name)
        return value == "1" || value == "true"
    }

    private func slice(_ range: ByteRange) -> ArraySlice<UInt8> { bytes[range.lowerBound..<range.upperBound] }

    private func text(_ range: ByteRange) -> String { String(decoding: slice(range), as: UTF8.self) }
}

/// An integer query parameter: absent, not a number in range, or its value.
enum IntegerQuery: Equatable {
    case missing
    case invalid
    case value(Int)
}
