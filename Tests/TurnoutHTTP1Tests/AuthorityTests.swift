@testable import TurnoutHTTP1
import XCTest

/// The byte set behind the Host check, against RFC 3986's lists.
final class AuthorityTests: XCTestCase {
    func testRegNameBytesAreExactlyUnreservedAndSubDelims() {
        for value in 0...255 {
            let byte = UInt8(value)
            XCTAssertEqual(
                Authority.isRegNameByte(byte), Authority.isUnreserved(byte) || Authority.isSubDelimiter(byte),
                "byte \(value)")
        }
        let listed = Array("ABCXYZabcxyz0189-._~!$&'()*+,;=".utf8)
        XCTAssertTrue(listed.allSatisfy(Authority.isRegNameByte))
        let refused = Array(":/?#[]@%\"<>\\^`{|} ".utf8) + [0, 0x7F, 0x80, 0xFF]
        XCTAssertFalse(refused.contains(where: Authority.isRegNameByte))
    }
}
