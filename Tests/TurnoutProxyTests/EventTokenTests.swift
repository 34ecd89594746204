import XCTest
@testable import TurnoutProxy

final class EventTokenTests: XCTestCase {
    func testRoundTripsKindSlotAndGeneration() {
        let token = EventToken(.upstream, slot: 123_456, generation: 0x0ABC_DEF1)
        XCTAssertEqual(token.kind, .upstream)
        XCTAssertEqual(token.slot, 123_456)
        XCTAssertEqual(token.generation, 0x0ABC_DEF1)
        XCTAssertEqual(EventToken(raw: token.raw), token)
    }

    func testGenerationWrapsWithinTwentyEightBits() {
        let token = EventToken(.client, slot: 0, generation: 0xFFFF_FFFF)
        XCTAssertEqual(token.generation, 0x0FFF_FFFF)
        XCTAssertEqual(token.kind, .client)
    }
}
