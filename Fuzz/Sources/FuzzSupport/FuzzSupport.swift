import CLibFuzzer
import Glibc
import TurnoutHTTP1

// What the fuzz targets share: exact-size copies for AddressSanitizer, the prefixes to re-parse, and the byte
// classes of RFC 9110 written out again here, so a target checks the parser against an independent statement of
// the grammar rather than against the parser's own helpers.

/// Hands the process to libFuzzer's driver (which reads the command line: corpus directories, `-max_total_time`,
/// `-dict`, ...) with `testOneInput` as the target, and exits with its status.
public func runLibFuzzer(_ testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
}

/// Stops the run when a property does not hold. Unlike `precondition`, which a release build stops without a
/// word, it says which property broke.
public func check(_ condition: Bool, _ property: @autoclosure () -> String) {
    if !condition { fatalError("property broken: \(property())") }
}

/// Runs `body` over a copy of `bytes` in an allocation of exactly their size. The fuzzer's buffer only guards
/// the end of the whole input; a read past the end of a prefix needs its own allocation to be reported.
public func withExactCopy<Result>(
    _ bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Result
) -> Result {
    let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
    defer { copy.deallocate() }
    if !bytes.isEmpty { copy.copyMemory(from: bytes) }
    return body(UnsafeRawBufferPointer(copy))
}

/// A head parser's outcome with the fields it stored, comparable as a whole.
public struct ParsedHead<Head: Equatable>: Equatable {
    public var result: HeadParseResult<Head>
    public var fields: [HeaderField]

    /// Parses a copy of `bytes` in an allocation of exactly their size, into a new table of `capacity` fields.
    public init(
        _ bytes: UnsafeRawBufferPointer, capacity: Int,
        _ parse: (UnsafeRawBufferPointer, HeaderFieldTable) -> HeadParseResult<Head>
    ) {
        let table = HeaderFieldTable(capacity: capacity)
        result = withExactCopy(bytes) { parse($0, table) }
        fields = snapshot(table)
    }
}

/// Checks that how the bytes arrive changes nothing: two prefixes of `input` picked from the input itself (so
/// the fuzzer steers them) and its half parse `.incomplete`, or exactly as the whole input, fields included.
public func checkPrefixes<Head>(
    of input: UnsafeRawBufferPointer, parseTo whole: ParsedHead<Head>,
    _ parse: (UnsafeRawBufferPointer) -> ParsedHead<Head>
) {
    guard !input.isEmpty else { return }
    let first = Int(input[0])
    let last = Int(input[input.count - 1])
    for length in [input.count / 2, (first * 251 + last) % (input.count + 1)] {
        let prefix = parse(UnsafeRawBufferPointer(rebasing: input[..<length]))
        if case .incomplete = prefix.result { continue }
        check(prefix == whole, "a prefix parses differently from the whole input")
    }
}

extension ByteRange {
    /// Whether the range is well formed and ends at or before `end`.
    public func lies(within end: Int) -> Bool {
        start >= 0 && count >= 0 && upperBound <= end
    }
}

/// The fields of a table, in order, as values that can be compared.
public func snapshot(_ fields: HeaderFieldTable) -> [HeaderField] {
    (0..<fields.count).map { fields[$0] }
}

/// `tchar` (RFC 9110 §5.6.2).
public func isTokenByte(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
        UInt8(ascii: "0")...UInt8(ascii: "9"):
        return true
    default:
        return "!#$%&'*+-.^_`|~".utf8.contains(byte)
    }
}

/// `field-vchar` and inner whitespace (RFC 9110 §5.5): HTAB, SP, VCHAR, obs-text; never CR, LF, NUL or DEL.
public func isFieldValueByte(_ byte: UInt8) -> Bool {
    byte == 0x09 || (byte >= 0x20 && byte != 0x7F)
}

/// Checks what a proxy forwards from a complete head: every field's name is a non-empty token and its value holds
/// only field-value bytes, without leading or trailing whitespace, all inside the head.
public func checkFields(_ fields: [HeaderField], in bytes: UnsafeRawBufferPointer, headLength: Int) {
    for field in fields {
        check(field.name.lies(within: headLength) && !field.name.isEmpty, "field name outside the head")
        check(field.value.lies(within: headLength), "field value outside the head")
        check(bytes.slice(field.name).allSatisfy(isTokenByte), "field name with a non-token byte")
        let value = bytes.slice(field.value)
        check(value.allSatisfy(isFieldValueByte), "field value with CR, LF, NUL or another control")
        if let first = value.first, let last = value.last {
            check(first != 0x20 && first != 0x09 && last != 0x20 && last != 0x09, "field value not trimmed")
        }
    }
}
