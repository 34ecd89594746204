import XCTest
@testable import TurnoutControl

final class CRC32Tests: XCTestCase {
    func testKnownVectors() {
        XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(CRC32.checksum([UInt8]()), 0)
        XCTAssertEqual(CRC32.checksum(Array("a".utf8)), 0xE8B7_BE43)
        XCTAssertEqual(CRC32.checksum(Array("The quick brown fox jumps over the lazy dog".utf8)), 0x414F_A339)
    }

    func testIncrementalUpdateEqualsOneShot() {
        var crc = CRC32()
        crc.update(Array("1234".utf8))
        crc.update(Array("56789".utf8))
        XCTAssertEqual(crc.value, 0xCBF4_3926)
    }

    func testHexIsEightLowercaseDigits() {
        XCTAssertEqual(CRC32.hex(0xCBF4_3926), "cbf43926")
        XCTAssertEqual(CRC32.hex(0x1A), "0000001a")
        XCTAssertEqual(CRC32.hex(0), "00000000")
    }
}
