/// Reading request bodies: typed accessors that fail with the contract's 400/422.
extension JSONValue {
    /// Parses a request body with the strict reader; an empty body is an empty object. A body that
    /// is not JSON is refused with the place: `request body is not valid JSON: line 1, column 14:
    /// trailing comma before '}' (in listeners.production)`.
    static func parseBody(_ bytes: [UInt8]) throws(AdminFailure) -> JSONValue {
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return .object([:]) }
        do {
            return try JSONReader.parse(bytes)
        } catch {
            throw .badRequest("request body is not valid JSON: \(error)")
        }
    }

    /// The members of an object, refusing any key not in `allowed`.
    func members(_ what: String, allowed: Set<String>? = nil) throws(AdminFailure) -> [String: JSONValue] {
        guard case .object(let members) = self else { throw .badRequest("\(what) must be a JSON object") }
        if let allowed {
            for key in members.keys.sorted() where !allowed.contains(key) {
                throw .badRequest("unknown field '\(key)' in \(what)")
            }
        }
        return members
    }

    func string(_ what: String) throws(AdminFailure) -> String {
        guard case .string(let value) = self else { throw .badRequest("\(what) must be a string") }
        return value
    }

    func bool(_ what: String) throws(AdminFailure) -> Bool {
        guard case .bool(let value) = self else { throw .badRequest("\(what) must be true or false") }
        return value
    }

    func integer(_ what: String) throws(AdminFailure) -> Int {
        switch self {
        case .int(let value): return Int(value)
        case .double(let value) where value == value.rounded() && abs(value) < 1e15: return Int(value)
        default: throw .badRequest("\(what) must be an integer")
        }
    }

    func array(_ what: String) throws(AdminFailure) -> [JSONValue] {
        guard case .array(let values) = self else { throw .badRequest("\(what) must be an array") }
        return values
    }
}
