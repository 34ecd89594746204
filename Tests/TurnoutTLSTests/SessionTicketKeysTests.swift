@testable import TurnoutTLS
import XCTest

final class SessionTicketKeysTests: XCTestCase {
    /// The newest key's bytes (its name is the first 16).
    private func newest(_ ring: SessionTicketKeys) -> [UInt8] {
        var key = [UInt8](repeating: 0, count: SessionTicketKeys.keyLength)
        key.withUnsafeMutableBytes { ring.copyNewest(into: $0.baseAddress!) }
        return key
    }

    /// The place of the key named like `key`, and the bytes found, or nil.
    private func find(_ ring: SessionTicketKeys, _ key: [UInt8]) -> (Int, [UInt8])? {
        var found = [UInt8](repeating: 0, count: SessionTicketKeys.keyLength)
        let place = key.withUnsafeBytes { name in
            found.withUnsafeMutableBytes { ring.copyKey(named: name.baseAddress!, into: $0.baseAddress!) }
        }
        return place.map { ($0, found) }
    }

    func testATicketKeyOpensTicketsUntilItIsTwoRotationsOld() {
        let ring = SessionTicketKeys()
        let first = newest(ring)
        XCTAssertEqual(find(ring, first)?.0, 0)
        XCTAssertEqual(find(ring, first)?.1, first)

        ring.rotate()
        let second = newest(ring)
        XCTAssertNotEqual(second, first)
        XCTAssertEqual(find(ring, second)?.0, 0)
        XCTAssertEqual(find(ring, first)?.0, 1, "the previous key still opens its tickets")
        XCTAssertEqual(find(ring, first)?.1, first)

        ring.rotate()
        XCTAssertNil(find(ring, first), "two rotations old: retired")
        XCTAssertEqual(find(ring, second)?.0, 1)
        XCTAssertEqual(ring.rotations, 2)
    }

    func testEachRingDrawsItsOwnKeys() {
        XCTAssertNil(find(SessionTicketKeys(), newest(SessionTicketKeys())))
    }
}
