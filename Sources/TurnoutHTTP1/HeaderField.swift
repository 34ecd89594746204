/// One header field line of a parsed head, as ranges into the parsed buffer.
public struct HeaderField: Sendable, Equatable {
    /// The field name as received (case preserved).
    public var name: ByteRange
    /// The field value without leading and trailing whitespace (OWS).
    public var value: ByteRange
    /// Which of the fields the proxy acts on this is, or `.other`.
    public var kind: KnownHeader
    /// Whether the field must not be forwarded: always for the connection-specific fields, and for any field
    /// the message's Connection header names.
    public var isHopByHop: Bool

    public init(name: ByteRange, value: ByteRange, kind: KnownHeader, isHopByHop: Bool) {
        self.name = name
        self.value = value
        self.kind = kind
        self.isHopByHop = isHopByHop
    }
}
