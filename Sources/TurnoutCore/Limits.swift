/// Size and count limits of the data plane.
public struct Limits: Sendable, Hashable {
    /// Largest request or response head (request line + headers); above it the client gets 431.
    /// 1024...1048576.
    public var maxHeaderBytes: Int
    /// Most header fields in one head; above it the client gets 431.
    public var maxHeaders: Int
    /// Most client connections open at once across all workers; further accepts are closed at once.
    public var maxConnections: Int

    public static let maxHeaderBytesRange = 1024...1_048_576

    public init(maxHeaderBytes: Int = 16384, maxHeaders: Int = 100, maxConnections: Int = 10000) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaders = maxHeaders
        self.maxConnections = maxConnections
    }
}
