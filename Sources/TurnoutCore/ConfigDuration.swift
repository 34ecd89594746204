/// A duration written with a unit, as in the configuration: `5s`, `250ms`, `2m`, `1h`, `1.5s`, `100us`, `1m30s`.
///
/// Units: `ns`, `us` (or `µs`), `ms`, `s`, `m`, `h`. A bare number is refused: `timeout: 5` would be ambiguous.
public struct ConfigDuration: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var nanoseconds: UInt64

    public init(nanoseconds: UInt64) {
        self.nanoseconds = nanoseconds
    }

    public static func seconds(_ value: UInt64) -> ConfigDuration { ConfigDuration(nanoseconds: value * 1_000_000_000) }
    public static func milliseconds(_ value: UInt64) -> ConfigDuration { ConfigDuration(nanoseconds: value * 1_000_000) }

    /// Whole milliseconds, rounded down (what `epoll_wait` and timer wheels take).
    public var milliseconds: Int { Int(nanoseconds / 1_000_000) }

    /// Seconds as a floating-point number, for display and JSON.
    public var seconds: Double { Double(nanoseconds) / 1_000_000_000 }

    public static func < (lhs: ConfigDuration, rhs: ConfigDuration) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    private static let units: [(suffix: String, nanoseconds: UInt64)] = [
        ("h", 3_600_000_000_000), ("m", 60_000_000_000), ("s", 1_000_000_000),
        ("ms", 1_000_000), ("us", 1_000), ("µs", 1_000), ("ns", 1),
    ]

    /// The largest unit that divides the value exactly: `1500ms`, `2m`, `0s`. `parse(description)` round-trips.
    public var description: String {
        guard nanoseconds > 0 else { return "0s" }
        for unit in Self.units where unit.suffix != "µs" && nanoseconds % unit.nanoseconds == 0 {
            return "\(nanoseconds / unit.nanoseconds)\(unit.suffix)"
        }
        return "\(nanoseconds)ns"
    }

    /// Parses one or more `<number><unit>` segments (`1h30m`); the number may have a fraction (`1.5s`).
    /// Returns nil for a missing unit, an unknown unit, a sign, or a value beyond `UInt64` nanoseconds.
    public static func parse(_ s: String) -> ConfigDuration? {
        var rest = Substring(s)
        guard !rest.isEmpty else { return nil }
        var total: UInt64 = 0
        while !rest.isEmpty {
            let whole = rest.prefix { $0.isASCII && $0.isNumber }
            guard !whole.isEmpty, let wholeValue = UInt64(whole) else { return nil }
            rest = rest.dropFirst(whole.count)
            var fraction: Substring = ""
            if rest.first == "." {
                fraction = rest.dropFirst().prefix { $0.isASCII && $0.isNumber }
                guard !fraction.isEmpty else { return nil }
                rest = rest.dropFirst(1 + fraction.count)
            }
            let unitText = rest.prefix { !($0.isASCII && $0.isNumber) }
            guard let unit = units.first(where: { $0.suffix == unitText })?.nanoseconds else { return nil }
            rest = rest.dropFirst(unitText.count)
            guard let segment = segmentNanoseconds(whole: wholeValue, fraction: fraction, unit: unit) else { return nil }
            let (sum, overflow) = total.addingReportingOverflow(segment)
            guard !overflow else { return nil }
            total = sum
        }
        return ConfigDuration(nanoseconds: total)
    }

    private static func segmentNanoseconds(whole: UInt64, fraction: Substring, unit: UInt64) -> UInt64? {
        let (wholePart, overflow) = whole.multipliedReportingOverflow(by: unit)
        guard !overflow else { return nil }
        // Digits beyond nanosecond precision cannot matter; dropping them keeps the arithmetic in range.
        let digits = fraction.prefix(9)
        guard !digits.isEmpty, let numerator = UInt64(digits) else { return wholePart }
        var scale: UInt64 = 1
        for _ in 0..<digits.count { scale *= 10 }
        // numerator < scale, so numerator * unit / scale < unit: the full-width quotient always fits.
        let fractionPart = scale.dividingFullWidth(unit.multipliedFullWidth(by: numerator)).quotient
        let (sum, sumOverflow) = wholePart.addingReportingOverflow(fractionPart)
        return sumOverflow ? nil : sum
    }
}
