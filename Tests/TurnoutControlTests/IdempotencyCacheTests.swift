import XCTest
@testable import TurnoutControl

final class IdempotencyCacheTests: XCTestCase {
    private let hashA = IdempotencyCache.requestHash(body: Array(#"{"to":"green"}"#.utf8))
    private let hashB = IdempotencyCache.requestHash(body: Array(#"{"to":"blue"}"#.utf8))

    func testUnknownKeyMisses() {
        XCTAssertEqual(IdempotencyCache().lookup(key: "k", method: "POST", path: "/v1/switch", bodyHash: hashA), .miss)
    }

    func testSameRequestReplays() {
        var cache = IdempotencyCache()
        cache.store(key: "k", method: "POST", path: "/v1/switch", bodyHash: hashA, status: 200, body: #"{"generation":4}"#)
        XCTAssertEqual(cache.lookup(key: "k", method: "POST", path: "/v1/switch", bodyHash: hashA),
                       .replay(status: 200, body: #"{"generation":4}"#))
    }

    func testSameKeyWithADifferentRequestMismatches() {
        var cache = IdempotencyCache()
        cache.store(key: "k", method: "POST", path: "/v1/switch", bodyHash: hashA, status: 200, body: "{}")
        XCTAssertEqual(cache.lookup(key: "k", method: "POST", path: "/v1/switch", bodyHash: hashB), .mismatch)
        XCTAssertEqual(cache.lookup(key: "k", method: "PUT", path: "/v1/switch", bodyHash: hashA), .mismatch)
        XCTAssertEqual(cache.lookup(key: "k", method: "POST", path: "/v1/routing", bodyHash: hashA), .mismatch)
    }

    func testKeepsTheLast1000Keys() {
        var cache = IdempotencyCache()
        for index in 0..<1002 {
            cache.store(key: "key-\(index)", method: "POST", path: "/v1/switch", bodyHash: hashA, status: 200, body: "\(index)")
        }
        XCTAssertEqual(cache.count, 1000)
        XCTAssertEqual(cache.lookup(key: "key-0", method: "POST", path: "/v1/switch", bodyHash: hashA), .miss)
        XCTAssertEqual(cache.lookup(key: "key-1", method: "POST", path: "/v1/switch", bodyHash: hashA), .miss)
        XCTAssertEqual(cache.lookup(key: "key-2", method: "POST", path: "/v1/switch", bodyHash: hashA), .replay(status: 200, body: "2"))
        XCTAssertEqual(cache.records.first?.key, "key-2")
        XCTAssertEqual(cache.records.last?.key, "key-1001")
    }

    func testRestoringRecordsKeepsOrderAndReplays() {
        var cache = IdempotencyCache()
        cache.store(key: "a", method: "PUT", path: "/v1/routing", bodyHash: hashA, status: 200, body: "A",
                    millisecondsSinceEpoch: 1_000)
        cache.store(key: "b", method: "PUT", path: "/v1/routing", bodyHash: hashB, status: 409, body: "B")
        XCTAssertEqual(cache.records.first?.time, "1970-01-01T00:00:01.000Z")
        let restored = IdempotencyCache(records: cache.records)
        XCTAssertEqual(restored, cache)
        XCTAssertEqual(restored.records.map(\.key), ["a", "b"])
        XCTAssertEqual(restored.lookup(key: "b", method: "PUT", path: "/v1/routing", bodyHash: hashB), .replay(status: 409, body: "B"))
    }

    func testStoringAKeyAgainMakesItNewest() {
        var cache = IdempotencyCache()
        cache.store(key: "a", method: "POST", path: "/p", bodyHash: hashA, status: 200, body: "1")
        cache.store(key: "b", method: "POST", path: "/p", bodyHash: hashA, status: 200, body: "2")
        cache.store(key: "a", method: "POST", path: "/p", bodyHash: hashB, status: 201, body: "3")
        XCTAssertEqual(cache.records.map(\.key), ["b", "a"])
        XCTAssertEqual(cache.lookup(key: "a", method: "POST", path: "/p", bodyHash: hashB), .replay(status: 201, body: "3"))
    }

    func testKeyValidation() {
        XCTAssertTrue(IdempotencyCache.isValidKey("a"))
        XCTAssertTrue(IdempotencyCache.isValidKey("deploy-2026-11-26T14:03:12Z_#42"))
        XCTAssertTrue(IdempotencyCache.isValidKey(String(repeating: "x", count: 200)))
        XCTAssertFalse(IdempotencyCache.isValidKey(""))
        XCTAssertFalse(IdempotencyCache.isValidKey(String(repeating: "x", count: 201)))
        XCTAssertFalse(IdempotencyCache.isValidKey("has space"))
        XCTAssertFalse(IdempotencyCache.isValidKey("tab\there"))
        XCTAssertFalse(IdempotencyCache.isValidKey("clé"))
        XCTAssertFalse(IdempotencyCache.isValidKey("del\u{7F}"))
    }

    func testRequestHashIsSHA256() {
        XCTAssertEqual(IdempotencyCache.requestHash(body: []),
                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(IdempotencyCache.requestHash(body: Array("abc".utf8)),
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(IdempotencyCache.requestHash(body: Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(IdempotencyCache.requestHash(body: [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}
