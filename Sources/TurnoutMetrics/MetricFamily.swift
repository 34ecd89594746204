/// One metric family of the exposition: its name, help text, type and samples.
///
/// The registry builds the data-plane families; the control plane builds the ones it computes at
/// scrape time (target health, weights, generation, health-check durations) and passes them to
/// `MetricsRegistry.render(into:extra:)`. Names and label names must be valid Prometheus names;
/// help text and label values may hold anything (they are escaped when rendered).
public struct MetricFamily: Sendable {
    public enum Kind: String, Sendable {
        case counter
        case gauge
        case histogram
    }

    public var name: String
    public var help: String
    public var kind: Kind
    /// The samples of a counter or gauge; rendered sorted by label values.
    public var samples: [MetricSample]
    /// The series of a histogram; rendered sorted by label values.
    public var series: [HistogramSeries]

    /// A counter family.
    public static func counter(_ name: String, help: String, samples: [MetricSample]) -> MetricFamily {
        MetricFamily(name: name, help: help, kind: .counter, samples: samples, series: [])
    }

    /// A gauge family.
    public static func gauge(_ name: String, help: String, samples: [MetricSample]) -> MetricFamily {
        MetricFamily(name: name, help: help, kind: .gauge, samples: samples, series: [])
    }

    /// A histogram family, one series per label set.
    public static func histogram(_ name: String, help: String, series: [HistogramSeries]) -> MetricFamily {
        MetricFamily(name: name, help: help, kind: .histogram, samples: [], series: series)
    }
}

/// A label set and a value.
public struct MetricSample: Sendable {
    public var labels: [(name: String, value: String)]
    public var value: Double

    public init(labels: [(name: String, value: String)] = [], value: Double) {
        self.labels = labels
        self.value = value
    }
}

/// A label set and a histogram's counts (rendered as `_bucket`, `_sum` and `_count` samples).
public struct HistogramSeries: Sendable {
    public var labels: [(name: String, value: String)]
    public var counts: HistogramCounts

    public init(labels: [(name: String, value: String)] = [], counts: HistogramCounts) {
        self.labels = labels
        self.counts = counts
    }
}
