import Foundation

/// The layout of `state.json`:
///
///     {"format":1,"checksum":"<crc32>","payload":{...}}
///
/// The payload is `PersistedState` encoded once, compactly and with sorted keys; the checksum
/// is the CRC-32 (eight lowercase hex digits) of exactly those payload bytes as they stand in
/// the file. Verification finds the raw byte span of the top-level `payload` member and checks
/// it without re-encoding, so it does not depend on how a JSON encoder formats numbers or
/// orders keys. Reformatting the envelope is harmless; editing the payload by hand needs a new
/// checksum.
enum StateFileEnvelope {
    /// The only format this build reads and writes.
    static let currentFormat = 1

    /// The file contents for `state`.
    static func encode(_ state: PersistedState) throws(StateStoreError) -> [UInt8] {
        let payload = state.jsonValue.jsonBytes
        let checksum = CRC32.hex(CRC32.checksum(payload))
        var file = Array("{\"format\":\(currentFormat),\"checksum\":\"\(checksum)\",\"payload\":".utf8)
        file.append(contentsOf: payload)
        file.append(contentsOf: Array("}\n".utf8))
        return file
    }

    /// The state in `file`, or why the file is not a valid state file.
    static func decode(_ file: [UInt8]) -> Result<PersistedState, Failure> {
        struct Header: Decodable {
            let format: Int
            let checksum: String
        }
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: Data(file))
        } catch {
            return .failure(Failure("not a state file (\(file.isEmpty ? "empty" : "invalid JSON or missing format/checksum"))"))
        }
        guard header.format == currentFormat else {
            return .failure(Failure("unknown format \(header.format) (this build reads format \(currentFormat))"))
        }
        guard let span = topLevelMemberSpan(named: "payload", in: file) else {
            return .failure(Failure("no payload"))
        }
        let computed = CRC32.hex(CRC32.checksum(file[span]))
        guard header.checksum == computed else {
            return .failure(Failure("checksum mismatch (stored \(header.checksum), computed \(computed))"))
        }
        do {
            return .success(try JSONDecoder().decode(PersistedState.self, from: Data(file[span])))
        } catch {
            return .failure(Failure("payload does not decode: \(error)"))
        }
    }

    /// Why a file is not a valid state file.
    struct Failure: Error, Equatable {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }

    /// The byte range of the value of the top-level object member `name` in `json`, which must
    /// already be known to be valid JSON. `nil` if the top level is not an object, the member
    /// is missing or appears twice.
    static func topLevelMemberSpan(named name: String, in json: [UInt8]) -> Range<Int>? {
        var scanner = JSONSpanScanner(json)
        scanner.skipWhitespace()
        guard scanner.consume(UInt8(ascii: "{")) else { return nil }
        let wanted = Array(name.utf8)
        var found: Range<Int>?
        while true {
            scanner.skipWhitespace()
            if scanner.consume(UInt8(ascii: "}")) { return found }
            guard let key = scanner.skipString() else { return nil }
            scanner.skipWhitespace()
            guard scanner.consume(UInt8(ascii: ":")) else { return nil }
            scanner.skipWhitespace()
            guard let value = scanner.skipValue() else { return nil }
            // The key's raw bytes between the quotes; an escaped spelling of `name` does not count.
            if json[(key.lowerBound + 1)..<(key.upperBound - 1)].elementsEqual(wanted) {
                if found != nil { return nil }
                found = value
            }
            scanner.skipWhitespace()
            if scanner.consume(UInt8(ascii: ",")) { continue }
            guard scanner.consume(UInt8(ascii: "}")) else { return nil }
            return found
        }
    }
}

/// Finds the extent of JSON values without building them.
private struct JSONSpanScanner {
    private let bytes: [UInt8]
    private var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func skipWhitespace() {
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
    }

    mutating func consume(_ byte: UInt8) -> Bool {
        guard position < bytes.count, bytes[position] == byte else { return false }
        position += 1
        return true
    }

    /// A string including its quotes.
    mutating func skipString() -> Range<Int>? {
        let start = position
        guard consume(UInt8(ascii: "\"")) else { return nil }
        while position < bytes.count {
            switch bytes[position] {
            case UInt8(ascii: "\\"): position += 2
            case UInt8(ascii: "\""):
                position += 1
                return start..<position
            default: position += 1
            }
        }
        return nil
    }

    /// Any value; containers are matched by depth, skipping strings so brackets inside them don't count.
    mutating func skipValue() -> Range<Int>? {
        let start = position
        guard position < bytes.count else { return nil }
        switch bytes[position] {
        case UInt8(ascii: "\""):
            return skipString()
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            while position < bytes.count {
                switch bytes[position] {
                case UInt8(ascii: "\""):
                    guard skipString() != nil else { return nil }
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 {
                        position += 1
                        return start..<position
                    }
                default: break
                }
                position += 1
            }
            return nil
        default:
            // A number, true, false or null: runs until a delimiter.
            while position < bytes.count,
                ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x09, 0x0A, 0x0D].contains(bytes[position])
            {
                position += 1
            }
            return start..<position
        }
    }
}
