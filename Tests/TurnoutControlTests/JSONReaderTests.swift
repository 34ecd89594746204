import XCTest
@testable import TurnoutControl

/// The strict reader on raw bytes: what it reads, and for what it refuses, the exact message.
final class JSONReaderTests: XCTestCase {
    private func read(_ text: String) throws -> JSONValue { try JSONReader.parse(Array(text.utf8)) }

    /// The error's full text for `bytes`; fails when they are read.
    private func refusal(_ bytes: [UInt8], maxDepth: Int = JSONReader.defaultMaxDepth,
                         file: StaticString = #filePath, line: UInt = #line) -> String? {
        do {
            let value = try JSONReader.parse(bytes, maxDepth: maxDepth)
            XCTFail("read \(value)", file: file, line: line)
            return nil
        } catch {
            return error.description
        }
    }

    private func refusal(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> String? {
        refusal(Array(text.utf8), file: file, line: line)
    }

    // MARK: - What it reads

    func testReadsEveryKind() throws {
        XCTAssertEqual(try read(#" {"a": [1, -2, 1.5, -0.25e2, 3E+2, true, false, null, "x"], "b": {}, "c": []} "#), [
            "a": [1, -2, 1.5, -25, 300, true, false, nil, "x"], "b": [:], "c": [],
        ])
        XCTAssertEqual(try read("\r\n\t0\n"), 0)
        XCTAssertEqual(try read(#""""#), "")
    }

    func testWholeNumbersThatFitInt64AreIntegers() throws {
        XCTAssertEqual(try read("9223372036854775807"), .int(Int64.max))
        XCTAssertEqual(try read("-9223372036854775808"), .int(Int64.min))
        XCTAssertEqual(try read("9223372036854775808"), .double(9_223_372_036_854_775_808))
        XCTAssertEqual(try read("-0"), .int(0))
        // JSON does not tell 3.0 from 3; whole numbers read back as integers.
        XCTAssertEqual(try read("[3.0, 1.5e3, -0.0, 0.5]"), [.int(3), .int(1500), .int(0), .double(0.5)])
    }

    func testDecodesEveryEscape() throws {
        XCTAssertEqual(try read(#""\" \\ \/ \b \f \n \r \t \u0041 \u00e9 \u20AC \ud83d\udea6 \u0000""#),
                       .string("\" \\ / \u{08} \u{0C} \n \r \t A é € 🚦 \u{00}"))
        XCTAssertEqual(try read("\"é 🚦\""), "é 🚦")
    }

    func testReadsWhatTheWriterWrites() throws {
        let value: JSONValue = [
            "awkward": .string("quote \" backslash \\ slash / newline \n nul \u{00} del \u{7F} é 🚦"),
            "numbers": [0, -1, .int(Int64.max), 2.5, 1e-7, 1e300], "nested": ["a": [[], [:], [nil, true]]],
        ]
        XCTAssertEqual(try JSONReader.parse(value.jsonBytes), value)
    }

    func testTopLevelMembersCarryTheirByteSpans() throws {
        let bytes = Array(#"{"a": "x}\"]{", "payload": {"k": ["}", {"q": "\\"}]} , "n": -1.5e3}"#.utf8)
        let members = try JSONReader.topLevelMembers(bytes)
        XCTAssertEqual(members.mapValues { String(decoding: bytes[$0.span], as: UTF8.self) },
                       ["a": #""x}\"]{""#, "payload": #"{"k": ["}", {"q": "\\"}]}"#, "n": "-1.5e3"])
        XCTAssertEqual(members["payload"]?.value, ["k": ["}", ["q": "\\"]]])
        XCTAssertEqual(try JSONReader.topLevelMembers(Array("{}".utf8)).count, 0)
    }

    // MARK: - What it refuses, and where

    func testTrailingCommas() {
        XCTAssertEqual(refusal(#"{"blue": 100,}"#), "line 1, column 13: trailing comma before '}'")
        XCTAssertEqual(refusal(#"{"listeners": {"production": {"blue": 90, "green": 10, }}}"#),
                       "line 1, column 54: trailing comma before '}' (in listeners.production)")
        XCTAssertEqual(refusal(#"{"targets": ["127.0.0.1:3000",]}"#), "line 1, column 30: trailing comma before ']' (in targets)")
        XCTAssertEqual(refusal("[1,\n ]"), "line 1, column 3: trailing comma before ']'")
        XCTAssertEqual(refusal("[,1]"), "line 1, column 2: expected a value, found ',' (in [0])")
        XCTAssertEqual(refusal("{,}"), "line 1, column 2: expected a key in double quotes, found ','")
    }

    func testDuplicateKeys() {
        XCTAssertEqual(refusal(#"{"to":"green","to":"blue"}"#), "line 1, column 15: duplicate key 'to'")
        XCTAssertEqual(refusal("{\"listeners\": {\"production\": {\"blue\": 1,\n  \"blue\": 2}}}"),
                       "line 2, column 3: duplicate key 'blue' (in listeners.production)")
        // The same key spelt with an escape is the same key.
        XCTAssertEqual(refusal(#"{"a": 1, "\u0061": 2}"#), "line 1, column 10: duplicate key 'a'")
        XCTAssertEqual(refusal(Array(#"{"payload": 1, "payload": 2}"#.utf8)), "line 1, column 16: duplicate key 'payload'")
        XCTAssertThrowsError(try JSONReader.topLevelMembers(Array(#"{"payload": 1, "payload": 2}"#.utf8)))
        // Equal keys in different objects are fine.
        XCTAssertNoThrow(try read(#"{"a": {"x": 1}, "b": {"x": 2}}"#))
    }

    func testNumbers() {
        XCTAssertEqual(refusal("01"), "line 1, column 1: leading zero in a number")
        XCTAssertEqual(refusal(#"{"blue": -007}"#), "line 1, column 11: leading zero in a number (in blue)")
        XCTAssertEqual(refusal("1."), "line 1, column 3: expected a digit after '.', found the end of the input")
        XCTAssertEqual(refusal("[.5]"), "line 1, column 2: expected a value, found '.' (in [0])")
        XCTAssertEqual(refusal("-"), "line 1, column 2: expected a digit after '-', found the end of the input")
        XCTAssertEqual(refusal("+1"), "line 1, column 1: expected a value, found '+'")
        XCTAssertEqual(refusal("1e"), "line 1, column 3: expected a digit in the exponent, found the end of the input")
        XCTAssertEqual(refusal("1e+x"), "line 1, column 4: expected a digit in the exponent, found 'x'")
        XCTAssertEqual(refusal("0x10"), "line 1, column 2: expected the end of the input after the value, found 'x'")
        XCTAssertEqual(refusal("[1e400]"), "line 1, column 2: number out of range (in [0])")
        XCTAssertEqual(refusal("NaN"), "line 1, column 1: expected a value, found 'N'")
        XCTAssertEqual(refusal("Infinity"), "line 1, column 1: expected a value, found 'I'")
    }

    func testBadEscapes() {
        XCTAssertEqual(refusal(#""\x""#), #"line 1, column 2: invalid escape '\x'"#)
        XCTAssertEqual(refusal(#"{"to": "gr\een"}"#), #"line 1, column 11: invalid escape '\e' (in to)"#)
        XCTAssertEqual(refusal(#""\u12G4""#), #"line 1, column 2: expected 4 hex digits after '\u'"#)
        XCTAssertEqual(refusal(#""\u12""#), #"line 1, column 2: expected 4 hex digits after '\u'"#)
        XCTAssertEqual(refusal(Array("\"\\\u{01}\"".utf8)), "line 1, column 2: invalid escape byte 0x01")
        XCTAssertEqual(refusal(#""\"#), "line 1, column 3: unterminated string")
    }

    func testLoneSurrogates() {
        XCTAssertEqual(refusal(#""\uD800""#), #"line 1, column 2: lone surrogate \uD800"#)
        XCTAssertEqual(refusal(#""\ud800x""#), #"line 1, column 2: lone surrogate \uD800"#)
        XCTAssertEqual(refusal(#""\uD800\u0041""#), #"line 1, column 2: lone surrogate \uD800"#)
        XCTAssertEqual(refusal(#""\uD800\uD800""#), #"line 1, column 2: lone surrogate \uD800"#)
        XCTAssertEqual(refusal(#"["ok", "\uDC00"]"#), #"line 1, column 9: lone surrogate \uDC00 (in [1])"#)
    }

    func testStringsMustBeValidUTF8WithoutControlCharacters() {
        XCTAssertEqual(refusal([0x22, 0x61, 0xFF, 0x22]), "line 1, column 1: invalid UTF-8 in a string")
        XCTAssertEqual(refusal([0x22, 0xC0, 0xAF, 0x22]), "line 1, column 1: invalid UTF-8 in a string")  // overlong "/"
        XCTAssertEqual(refusal([0x22, 0xED, 0xA0, 0x80, 0x22]), "line 1, column 1: invalid UTF-8 in a string")  // a surrogate
        XCTAssertEqual(refusal("\"a\nb\""), "line 1, column 3: unescaped control character U+000A in a string")
        XCTAssertEqual(refusal([0x22, 0x09, 0x22]), "line 1, column 2: unescaped control character U+0009 in a string")
        XCTAssertEqual(refusal(#"{"to": "green"#), "line 1, column 8: unterminated string (in to)")
    }

    func testGarbageAroundTheValue() {
        XCTAssertEqual(refusal(#"{"to": "green"} x"#), "line 1, column 17: expected the end of the input after the value, found 'x'")
        XCTAssertEqual(refusal("{}{}"), "line 1, column 3: expected the end of the input after the value, found '{'")
        XCTAssertEqual(refusal([0xEF, 0xBB, 0xBF, 0x7B, 0x7D]), "line 1, column 1: expected a value, found byte 0xEF")
        XCTAssertEqual(refusal(""), "line 1, column 1: expected a value, found the end of the input")
        XCTAssertEqual(refusal("{} \u{00}"), "line 1, column 4: expected the end of the input after the value, found byte 0x00")
        XCTAssertEqual(refusal("[1 2]"), "line 1, column 4: expected ',' or ']' after an element, found '2'")
        XCTAssertEqual(refusal(#"{"a" 1}"#), "line 1, column 6: expected ':' after the key, found '1'")
        XCTAssertEqual(refusal(#"{"a": 1 "b": 2}"#), "line 1, column 9: expected ',' or '}' after a member, found '\"'")
        XCTAssertEqual(refusal("{'a': 1}"), "line 1, column 2: expected a key in double quotes, found '''")
        XCTAssertEqual(refusal("[tru]"), "line 1, column 2: invalid literal; expected true (in [0])")
        XCTAssertEqual(refusal("nul"), "line 1, column 1: invalid literal; expected null")
        XCTAssertEqual(refusal("{\"a\": [1,\n  {\"b\": }]}"), "line 2, column 9: expected a value, found '}' (in a[1].b)")
    }

    func testNestingDepthIsBounded() {
        let deepest = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        XCTAssertNoThrow(try read(deepest))
        let tooDeep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        XCTAssertEqual(refusal(tooDeep), "line 1, column 65: nesting deeper than 64 levels (in "
            + String(repeating: "[0]", count: 64) + ")")
        XCTAssertEqual(refusal(Array(#"{"a": {"b": {}}}"#.utf8), maxDepth: 2),
                       "line 1, column 13: nesting deeper than 2 levels (in a.b)")
        // A hostile depth is refused, not a stack overflow.
        XCTAssertNotNil(refusal(String(repeating: "[", count: 1_000_000)))
    }

    func testColumnsCountCharactersAndPathsQuoteOddKeys() {
        XCTAssertEqual(refusal(#"{"é🚦": [1,]}"#), #"line 1, column 10: trailing comma before ']' (in ["é🚦"])"#)
        XCTAssertEqual(refusal(#"{"a.b": {"": x}}"#), #"line 1, column 14: expected a value, found 'x' (in ["a.b"][""])"#)
    }

    func testTheErrorCarriesItsParts() {
        do {
            _ = try JSONReader.parse(Array("{\"a\": [1,\n 2,]}".utf8))
            XCTFail("read")
        } catch {
            XCTAssertEqual(error.reason, "trailing comma before ']'")
            XCTAssertEqual(error.offset, 12)
            XCTAssertEqual(error.line, 2)
            XCTAssertEqual(error.column, 3)
            XCTAssertEqual(error.path, [.key("a")])
        }
    }
}
