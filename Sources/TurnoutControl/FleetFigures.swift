import TurnoutMetrics

/// The figures of a fleet's other instances, for the alarms of the deployment this instance runs. Each instance
/// publishes, once a second while a deployment is in progress, the counts of its last `publishedSeconds` seconds for
/// the groups the deployments move, each second stamped with its wall-clock time; the seconds overlap from one
/// publication to the next, so a missed or late one loses nothing, and the first one carries what came just before
/// it. Pure: the times come in as arguments.
struct FleetFigures {
    /// How many seconds each publication carries.
    static let publishedSeconds = 5
    /// How many seconds are kept of each instance: more than any alarm window.
    static let keptSeconds: UInt64 = 15 * 60

    /// Each other instance's counts: wall-clock second → group → what it counted in that second.
    private(set) var seconds: [String: [UInt64: [String: FigureCounts]]] = [:]

    /// Takes `instance`'s publication: each second it carries replaces what was kept of it (a second's counts are
    /// final once sampled, so a later copy is the same or more complete).
    mutating func add(instance: String, _ publication: Publication) {
        var kept = seconds[instance] ?? [:]
        for (second, groups) in publication.seconds { kept[second] = groups }
        if let latest = kept.keys.max(), latest > Self.keptSeconds {
            kept = kept.filter { $0.key + Self.keptSeconds > latest }
        }
        seconds[instance] = kept
    }

    /// `instance` left the fleet (its lease lapsed).
    mutating func remove(instance: String) { seconds[instance] = nil }

    /// What every other instance counted for `group` in the `window` seconds up to `nowSecond` (wall clock), the
    /// second before the window included: a publication comes up to a second after the seconds it carries.
    func window(group: String, seconds window: Int, nowSecond: UInt64, durationBuckets: [Double]) -> FigureCounts {
        var sum = FigureCounts(durationBuckets: durationBuckets)
        let start = nowSecond > UInt64(window) ? nowSecond - UInt64(window) : 0
        for kept in seconds.values {
            for (second, groups) in kept where second >= start && second <= nowSecond {
                if let counts = groups[group], counts.latency.upperBounds == durationBuckets { sum.add(counts) }
            }
        }
        return sum
    }

    /// One instance's publication: wall-clock second → group → counts.
    struct Publication: Equatable {
        var seconds: [UInt64: [String: FigureCounts]]

        init(seconds: [UInt64: [String: FigureCounts]]) { self.seconds = seconds }

        /// `{"seconds": {"<wall second>": {group: {"responses", "responses_5xx", "proxy_errors", "connect_errors",
        /// "buckets", "sum"}}}}`, as an instance publishes it.
        var jsonValue: JSONValue {
            .object(["seconds": .object(Dictionary(uniqueKeysWithValues: seconds.map { second, groups in
                (String(second), JSONValue.object(groups.mapValues(Self.json)))
            }))])
        }

        private static func json(_ counts: FigureCounts) -> JSONValue {
            ["responses": .int(Int64(clamping: counts.responses)), "responses_5xx": .int(Int64(clamping: counts.responses5xx)),
             "proxy_errors": .int(Int64(clamping: counts.proxyErrors)),
             "connect_errors": .int(Int64(clamping: counts.connectErrors)),
             "buckets": .array(counts.latency.bucketCounts.map { .int(Int64(clamping: $0)) }), "sum": .double(counts.latency.sum)]
        }

        /// A publication read back over `durationBuckets` (this instance's: a fleet shares its configuration); nil
        /// when it is not one. A second or a group that does not read (other buckets) is left out.
        init?(json: JSONValue, durationBuckets: [Double]) {
            guard case .object(let bySecond)? = json["seconds"] else { return nil }
            var seconds: [UInt64: [String: FigureCounts]] = [:]
            for (text, groups) in bySecond {
                guard let second = UInt64(text), case .object(let byGroup) = groups else { continue }
                var counts: [String: FigureCounts] = [:]
                for (group, value) in byGroup {
                    if let read = Self.counts(value, durationBuckets: durationBuckets) { counts[group] = read }
                }
                seconds[second] = counts
            }
            self.init(seconds: seconds)
        }

        private static func counts(_ value: JSONValue, durationBuckets: [Double]) -> FigureCounts? {
            func count(_ key: String) -> UInt64? { value[key]?.intValue.flatMap { $0 >= 0 ? UInt64($0) : nil } }
            guard let responses = count("responses"), let responses5xx = count("responses_5xx"),
                  let proxyErrors = count("proxy_errors"), let connectErrors = count("connect_errors"),
                  let items = value["buckets"]?.arrayValue, items.count == durationBuckets.count + 1,
                  let sum = value["sum"]?.numberValue else { return nil }
            let buckets = items.compactMap { $0.intValue.flatMap { $0 >= 0 ? UInt64($0) : nil } }
            guard buckets.count == items.count else { return nil }
            return FigureCounts(responses: responses, responses5xx: responses5xx, proxyErrors: proxyErrors,
                                connectErrors: connectErrors,
                                latency: HistogramCounts(upperBounds: durationBuckets, bucketCounts: buckets, sum: sum))
        }
    }
}
