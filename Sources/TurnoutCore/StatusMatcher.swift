/// Which HTTP status codes count as a healthy health-check answer: `200`, `200-399`, `200,204,300-302`.
public struct StatusMatcher: Sendable, Hashable, CustomStringConvertible {
    /// Inclusive code ranges; a single code is a range of one.
    public let ranges: [ClosedRange<Int>]

    /// The valid status codes a matcher may name.
    public static let codeRange = 100...599

    /// The default: any 2xx or 3xx answer.
    public static let successOrRedirect = StatusMatcher(uncheckedRanges: [200...399])

    private init(uncheckedRanges: [ClosedRange<Int>]) {
        self.ranges = uncheckedRanges
    }

    /// Parses comma-separated codes and `low-high` ranges (spaces around items allowed). Codes must be 100...599
    /// and a range's low end must not exceed its high end.
    public static func parse(_ s: String) -> StatusMatcher? {
        var ranges: [ClosedRange<Int>] = []
        for item in s.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = item.trimmingSpaces.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count),
                  let low = code(bounds[0]), let high = code(bounds[bounds.count - 1]), low <= high
            else { return nil }
            ranges.append(low...high)
        }
        return ranges.isEmpty ? nil : StatusMatcher(uncheckedRanges: ranges)
    }

    private static func code(_ text: Substring) -> Int? {
        guard text.utf8.count == 3, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let value = Int(text), codeRange.contains(value)
        else { return nil }
        return value
    }

    public func matches(_ status: Int) -> Bool {
        ranges.contains { $0.contains(status) }
    }

    /// The matcher as it would be written in the configuration; `parse(description)` round-trips.
    public var description: String {
        ranges.map { $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: ",")
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var text = self
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return text
    }
}
