import TurnoutHTTP1

/// The request's text an access log line shows, copied out of the client's input buffer while the head is there
/// (its bytes are reused for the body and the next request long before the response ends): method, target and
/// version, and the Referer, User-Agent and X-Request-Id values. Each is cut at its share of `capacity` bytes.
/// The storage is the exchange's, allocated at its first capture (only on a listener that writes an access log)
/// and kept while the exchange is pooled: a copy costs a few `memcpy`s and no allocation.
struct AccessLogText {
    static let capacity = 1024
    /// Each field's share of `capacity`: method, target, version, referer, user agent, request id.
    private static let limits = (method: 16, target: 512, version: 8, referer: 224, userAgent: 200, requestId: 64)

    private(set) var storage: UnsafeMutableRawPointer?
    private var methodCount = 0, targetCount = 0, versionCount = 0
    private var refererCount: Int?, userAgentCount: Int?, requestIdCount: Int?

    /// Offsets of the fields in `storage`.
    private static let targetStart = limits.method
    private static let versionStart = targetStart + limits.target
    private static let refererStart = versionStart + limits.version
    private static let userAgentStart = refererStart + limits.referer
    private static let requestIdStart = userAgentStart + limits.userAgent

    /// Nothing captured yet, no storage.
    init() {}

    /// Over storage of `capacity` bytes the caller owns.
    init(storage: UnsafeMutableRawPointer) { self.storage = storage }

    /// Frees storage `capture` allocated (the exchange's `deinit`).
    func deallocate() { storage?.deallocate() }

    var method: UnsafeRawBufferPointer { field(0, methodCount) }
    var target: UnsafeRawBufferPointer { field(Self.targetStart, targetCount) }
    var version: UnsafeRawBufferPointer { field(Self.versionStart, versionCount) }
    var referer: UnsafeRawBufferPointer? { refererCount.map { field(Self.refererStart, $0) } }
    var userAgent: UnsafeRawBufferPointer? { userAgentCount.map { field(Self.userAgentStart, $0) } }
    /// The client's X-Request-Id, or the one the proxy sent (`noteRequestId`).
    var requestId: UnsafeRawBufferPointer? { requestIdCount.map { field(Self.requestIdStart, $0) } }

    /// Copies what the log shows of `head`, parsed from `source` with its fields in `fields`.
    mutating func capture(_ head: RequestHead, source: UnsafeRawBufferPointer, fields: HeaderFieldTable) {
        if storage == nil { storage = UnsafeMutableRawPointer.allocate(byteCount: Self.capacity, alignment: 8) }
        methodCount = copy(source.slice(head.methodRange), to: 0, limit: Self.limits.method)
        targetCount = copy(source.slice(head.target), to: Self.targetStart, limit: Self.limits.target)
        versionCount = copy(head.version == .http10 ? "HTTP/1.0" : "HTTP/1.1", to: Self.versionStart)
        refererCount = fields.firstIndex(named: "referer", in: source).map {
            copy(source.slice(fields[$0].value), to: Self.refererStart, limit: Self.limits.referer)
        }
        userAgentCount = fields.firstIndex(named: "user-agent", in: source).map {
            copy(source.slice(fields[$0].value), to: Self.userAgentStart, limit: Self.limits.userAgent)
        }
        requestIdCount = fields.firstIndex(of: .xRequestId).map {
            copy(source.slice(fields[$0].value), to: Self.requestIdStart, limit: Self.limits.requestId)
        }
    }

    /// The X-Request-Id the proxy made for the request (the client sent none).
    mutating func noteRequestId(_ id: UnsafeRawBufferPointer) {
        requestIdCount = copy(id, to: Self.requestIdStart, limit: Self.limits.requestId)
    }

    private func field(_ start: Int, _ count: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: storage! + start, count: count)
    }

    private func copy(_ bytes: UnsafeRawBufferPointer, to start: Int, limit: Int) -> Int {
        let n = min(bytes.count, limit)
        if n > 0 { (storage! + start).copyMemory(from: bytes.baseAddress!, byteCount: n) }
        return n
    }

    private func copy(_ text: StaticString, to start: Int) -> Int {
        (storage! + start).copyMemory(from: text.utf8Start, byteCount: text.utf8CodeUnitCount)
        return text.utf8CodeUnitCount
    }
}
