/// Size limits applied while parsing a head.
public struct HeadLimits: Sendable, Equatable {
    /// The most bytes a head may take, from the first byte of the buffer (leading empty lines included)
    /// through the final CRLFCRLF. Passing it fails the parse (431 for requests) even before the head is complete.
    public var maxHeaderBytes: Int
    /// The most header fields a head may have; also bounded by the capacity of the `HeaderFieldTable`.
    public var maxHeaders: Int

    public init(maxHeaderBytes: Int = 16384, maxHeaders: Int = 100) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaders = maxHeaders
    }
}
