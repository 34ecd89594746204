import Synchronization

/// An HTTPS listener's certificates in force, handed from the control thread (a reload) to the workers: each
/// worker compares `version` (one atomic load per accepted connection) with the one its contexts were built
/// from, and builds new ones from `configuration` when it moved. Connections already open keep their contexts.
public final class CertificatePublisher: Sendable {
    private let current: Mutex<TLSServerConfiguration>
    private let published = Atomic<UInt64>(1)

    public init(_ configuration: TLSServerConfiguration) {
        current = Mutex(configuration)
    }

    /// Moves on every publish.
    public var version: UInt64 { published.load(ordering: .acquiring) }

    public var configuration: TLSServerConfiguration { current.withLock { $0 } }

    /// Makes `configuration` the one every handshake begun after this returns uses (once its worker has looked).
    public func publish(_ configuration: TLSServerConfiguration) {
        current.withLock { $0 = configuration }
        published.add(1, ordering: .releasing)
    }
}
