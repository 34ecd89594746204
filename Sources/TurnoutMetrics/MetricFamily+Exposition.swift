// Prometheus text exposition format, version 0.0.4.

extension MetricFamily {
    /// Appends the family: `# HELP` and `# TYPE` once, then its samples sorted by label values.
    func render(into out: inout String) {
        out += "# HELP \(name) \(escapedHelp(help))\n"
        out += "# TYPE \(name) \(kind.rawValue)\n"
        switch kind {
        case .counter, .gauge:
            for sample in samples.sorted(by: { labelsPrecede($0.labels, $1.labels) }) {
                appendSample(name, sample.labels, formattedValue(sample.value), into: &out)
            }
        case .histogram:
            for histogram in series.sorted(by: { labelsPrecede($0.labels, $1.labels) }) {
                appendHistogram(histogram, into: &out)
            }
        }
    }

    private func appendHistogram(_ histogram: HistogramSeries, into out: inout String) {
        let counts = histogram.counts
        var cumulative: UInt64 = 0
        for (index, bound) in counts.upperBounds.enumerated() {
            cumulative += counts.bucketCounts[index]
            appendSample(name + "_bucket", histogram.labels + [("le", formattedValue(bound))],
                         String(cumulative), into: &out)
        }
        cumulative += counts.bucketCounts[counts.upperBounds.count]
        appendSample(name + "_bucket", histogram.labels + [("le", "+Inf")], String(cumulative), into: &out)
        appendSample(name + "_sum", histogram.labels, formattedValue(counts.sum), into: &out)
        appendSample(name + "_count", histogram.labels, String(cumulative), into: &out)
    }
}

private func appendSample(_ name: String, _ labels: [(name: String, value: String)], _ value: String,
                          into out: inout String) {
    out += name
    if !labels.isEmpty {
        out += "{"
        for (index, label) in labels.enumerated() {
            if index > 0 { out += "," }
            out += label.name
            out += "=\""
            out += escapedLabelValue(label.value)
            out += "\""
        }
        out += "}"
    }
    out += " "
    out += value
    out += "\n"
}

/// Orders label sets by their values in order, then by their names, so output is stable and diffable.
func labelsPrecede(_ lhs: [(name: String, value: String)], _ rhs: [(name: String, value: String)]) -> Bool {
    for (left, right) in zip(lhs, rhs) {
        if left.value != right.value { return left.value < right.value }
        if left.name != right.name { return left.name < right.name }
    }
    return lhs.count < rhs.count
}

/// A label value with backslash, double quote and line feed escaped. Scalars, not characters:
/// "\r\n" is one Swift character, but its line feed still ends an exposition line.
func escapedLabelValue(_ value: String) -> String {
    escaped(value, quote: true)
}

/// Help text with backslash and line feed escaped.
func escapedHelp(_ help: String) -> String {
    escaped(help, quote: false)
}

private func escaped(_ text: String, quote: Bool) -> String {
    let needsEscaping = text.unicodeScalars.contains { $0 == "\\" || $0 == "\n" || (quote && $0 == "\"") }
    guard needsEscaping else { return text }
    var escaped = String.UnicodeScalarView()
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\\": escaped.append(contentsOf: "\\\\".unicodeScalars)
        case "\n": escaped.append(contentsOf: "\\n".unicodeScalars)
        case "\"" where quote: escaped.append(contentsOf: "\\\"".unicodeScalars)
        default: escaped.append(scalar)
        }
    }
    return String(escaped)
}

/// A sample value or bucket bound: whole numbers without a fraction (`3`, not `3.0`), `+Inf`, `-Inf`
/// and `NaN` as the format spells them, everything else in the shortest form that reads back exactly.
func formattedValue(_ value: Double) -> String {
    if value.isNaN { return "NaN" }
    if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
    if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
    return value.description
}
