extension RequestHead {
    /// The query parameter `name` as an integer within `range`; `nil` when missing, `.invalid` when not a number
    /// in range.
    func integerQuery(_ name: String, in range: ClosedRange<Int>) -> IntegerQuery {
        guard let text = query[name] else { return .missing }
        guard !text.isEmpty, text.allSatisfy(\.isASCIIDigit), text.count <= 18, let value = Int(text), range.contains(value) else {
            return .invalid
        }
        return .value(value)
    }

    /// Whether the query parameter `name` is `1` or `true`.
    func flagQuery(_ name: String) -> Bool {
        query[name] == "1" || query[name] == "true"
    }
}

/// The result of reading an integer query parameter.
enum IntegerQuery: Equatable {
    case missing
    case invalid
    case value(Int)
}
