/// The layout of `state.json`:
///
///     {"format":1,"checksum":"<crc32>","payload":{...}}
///
/// The payload is `PersistedState` encoded once, compactly and with sorted keys; the checksum
/// is the CRC-32 (eight lowercase hex digits) of exactly those payload bytes as they stand in
/// the file. Verification takes the raw byte span of the top-level `payload` member from the
/// reader and checks it without re-encoding, so it does not depend on how a JSON encoder formats
/// numbers or orders keys. Reformatting the envelope is harmless; editing the payload by hand needs
/// a new checksum.
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
        let members: [String: JSONReader.Member]
        do {
            members = try JSONReader.topLevelMembers(file)
        } catch {
            return .failure(Failure("not a state file (\(file.isEmpty ? "empty" : "\(error)"))"))
        }
        guard case .int(let format)? = members["format"]?.value, case .string(let checksum)? = members["checksum"]?.value else {
            return .failure(Failure("not a state file (missing format/checksum)"))
        }
        guard format == currentFormat else {
            return .failure(Failure("unknown format \(format) (this build reads format \(currentFormat))"))
        }
        guard let payload = members["payload"] else { return .failure(Failure("no payload")) }
        let computed = CRC32.hex(CRC32.checksum(file[payload.span]))
        guard checksum == computed else {
            return .failure(Failure("checksum mismatch (stored \(checksum), computed \(computed))"))
        }
        do {
            return .success(try PersistedState(json: payload.value))
        } catch {
            return .failure(Failure("payload does not decode: \(error)"))
        }
    }

    /// Why a file is not a valid state file.
    struct Failure: Error, Equatable {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }

    /// The byte range of the value of the top-level object member `name` in `json`. `nil` if
    /// `json` is not a valid JSON object or has no such member.
    static func topLevelMemberSpan(named name: String, in json: [UInt8]) -> Range<Int>? {
        (try? JSONReader.topLevelMembers(json))?[name]?.span
    }
}
