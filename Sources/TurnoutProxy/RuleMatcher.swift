import TurnoutCore
import TurnoutHTTP1

/// A listener's rules compiled for the request path: every pattern, key and canned answer in one block of bytes,
/// conditions and their alternatives in flat tables of plain values, the rules' hosts in hash tables. Built once per
/// routing generation (on the publishing thread), shared read-only by every worker; matching reads these tables and
/// the request's bytes and allocates nothing.
///
/// A rule holds when each of its conditions does; a condition holds when any of its alternatives (one pattern,
/// method, field value pattern or address block) does.
final class RuleMatcher: @unchecked Sendable {  // immutable after init; the tables are freed in deinit only
    /// What a condition looks at.
    enum Kind: UInt8 {
        case host, path, method, header, query, source
    }

    /// One alternative: a pattern (host, path, header or query value, method) with its key (a header's lowercase
    /// name, a query key), or an address block.
    struct Alternative {
        var kind: Kind
        var key: ByteRange
        var pattern: ByteRange
        /// Position of the pattern's first `*`, or -1 (paths: what it matched is `{path}`).
        var firstStar: Int32
        var high: UInt64
        var low: UInt64
        var prefixLength: Int
    }

    /// Alternatives `first ..< first + count`, any of which will do.
    struct Condition {
        var first: Int
        var count: Int
    }

    /// Conditions `first ..< first + count`, all of which must hold.
    struct CompiledRule {
        var first: Int
        var count: Int
        /// A fixed response's status line and fields but `Connection`, and its body.
        var answerHead: ByteRange
        var answerBody: ByteRange
        /// A redirect's templates.
        var redirect: RedirectTemplate?
    }

    /// The outcome of matching: the rule's index (nil: the listener's default forward), and what the matching
    /// path pattern's first `*` covered (relative to the head's buffer), for a redirect's `{path}`.
    struct Hit {
        var rule: Int
        var pathCapture: ByteRange
    }

    let count: Int
    let bytes: UnsafeMutableRawBufferPointer
    let alternatives: UnsafeMutableBufferPointer<Alternative>
    let conditions: UnsafeMutableBufferPointer<Condition>
    let rules: UnsafeMutableBufferPointer<CompiledRule>
    /// Which rules a request's host can meet (see `RuleHostIndex`).
    let hostIndex: RuleHostIndex

    init(_ routes: [RuleRoute]) {
        var pool: [UInt8] = []
        var alternatives: [Alternative] = []
        var conditions: [Condition] = []
        var rules: [CompiledRule] = []
        func add(_ text: String, lowercased: Bool = false) -> ByteRange {
            let start = pool.count
            pool.append(contentsOf: lowercased ? Array(text.lowercased().utf8) : Array(text.utf8))
            return ByteRange(start, pool.count)
        }
        func condition(_ kind: Kind, _ patterns: [String], key: String = "") {
            guard !patterns.isEmpty else { return }
            let keyRange = add(key, lowercased: true)
            let first = alternatives.count
            for pattern in patterns {
                let star = pattern.utf8.firstIndex(of: UInt8(ascii: "*")).map { Int32(pattern.utf8.distance(from: pattern.utf8.startIndex, to: $0)) }
                alternatives.append(Alternative(kind: kind, key: keyRange, pattern: add(pattern), firstStar: star ?? -1,
                                                high: 0, low: 0, prefixLength: 0))
            }
            conditions.append(Condition(first: first, count: patterns.count))
        }
        for route in routes {
            let first = conditions.count
            let match = route.match
            condition(.host, match.hosts)
            condition(.path, match.paths)
            condition(.method, match.methods)
            for header in match.headers { condition(.header, header.patterns, key: header.key) }
            for query in match.query { condition(.query, query.patterns, key: query.key) }
            if !match.sources.isEmpty {
                conditions.append(Condition(first: alternatives.count, count: match.sources.count))
                for block in match.sources {
                    alternatives.append(Alternative(kind: .source, key: ByteRange(start: 0, count: 0), pattern: ByteRange(start: 0, count: 0),
                                                    firstStar: -1, high: block.high, low: block.low, prefixLength: block.prefixLength))
                }
            }
            var rule = CompiledRule(first: first, count: conditions.count - first, answerHead: ByteRange(start: 0, count: 0),
                                    answerBody: ByteRange(start: 0, count: 0), redirect: nil)
            switch route.action {
            case .forward: break
            case .fixedResponse(let response):
                let (head, body) = RuleAnswers.fixedResponse(response)
                rule.answerHead = add(head)
                rule.answerBody = add(body)
            case .redirect(let redirect):
                rule.redirect = RedirectTemplate(redirect, add: { add($0) })
            }
            rules.append(rule)
        }
        count = routes.count
        hostIndex = RuleHostIndex(routes)
        bytes = .allocate(byteCount: max(pool.count, 1), alignment: 1)
        bytes.copyBytes(from: pool)
        self.alternatives = .allocate(capacity: max(alternatives.count, 1))
        _ = self.alternatives.initialize(from: alternatives)
        self.conditions = .allocate(capacity: max(conditions.count, 1))
        _ = self.conditions.initialize(from: conditions)
        self.rules = .allocate(capacity: max(rules.count, 1))
        _ = self.rules.initialize(from: rules)
    }

    deinit {
        bytes.deallocate()
        alternatives.deallocate()
        conditions.deallocate()
        rules.deallocate()
    }

    /// Whether rule `rule` forwards (rather than answering by itself).
    func forwards(_ rule: Int) -> Bool {
        rules[rule].redirect == nil && rules[rule].answerHead.isEmpty
    }

    /// Writes the answer of rule `rule` (a fixed response or a redirect) to `request` into `output`: the bytes
    /// written, or nil when they do not fit. `headOnly` (a HEAD request) leaves a fixed response's body out;
    /// `closing` adds `Connection: close`.
    func writeAnswer(rule: Int, _ request: RuleRequest, pathCapture: ByteRange, headOnly: Bool, closing: Bool,
                     into output: UnsafeMutableRawBufferPointer) -> Int? {
        let compiled = rules[rule]
        let templates = UnsafeRawBufferPointer(bytes)
        var out = HeadOutput(output)
        if let redirect = compiled.redirect {
            RuleAnswers.writeRedirect(redirect, templates: templates, request: request, pathCapture: pathCapture, into: &out)
        } else {
            out.write(templates.slice(compiled.answerHead))
        }
        if closing { out.write("Connection: close\r\n") }
        out.write("\r\n")
        if !headOnly { out.write(templates.slice(compiled.answerBody)) }
        return out.finish()
    }

    /// The first rule `request` meets, or nil when none does (the listener's forward takes it): the lowest of the
    /// first holding rule of each list the host index gives and of the first holding rule it leaves unindexed,
    /// each list tried only below the best found so far.
    func match(_ request: RuleRequest) -> Hit? {
        var best = Hit(rule: Int.max, pathCapture: ByteRange(start: 0, count: 0))
        let host = request.source.slice(request.host)
        var walk = RuleHostIndex.Walk(host)
        while let list = hostIndex.nextList(host, &walk) {
            firstHolding(list, request, below: &best)
        }
        firstHolding(UnsafeBufferPointer(rebasing: UnsafeBufferPointer(hostIndex.unindexed)[0..<hostIndex.unindexedCount]),
                     request, below: &best)
        return best.rule == Int.max ? nil : best
    }

    /// Replaces `best` with the first rule of `list` (ascending) below it that holds, if any.
    private func firstHolding(_ list: UnsafeBufferPointer<Int32>, _ request: RuleRequest, below best: inout Hit) {
        var index = 0
        while index < list.count {
            let rule = Int(list[index])
            if rule >= best.rule { return }
            if let capture = holds(rule, request) {
                best = Hit(rule: rule, pathCapture: capture)
                return
            }
            index += 1
        }
    }

    /// Whether rule `rule` holds for `request`: if so, what its path pattern's `*` covered.
    private func holds(_ rule: Int, _ request: RuleRequest) -> ByteRange? {
        let compiled = rules[rule]
        var capture = ByteRange(start: 0, count: 0)
        var index = compiled.first
        while index < compiled.first + compiled.count {
            if !conditionHolds(conditions[index], request, capture: &capture) { return nil }
            index += 1
        }
        return capture
    }

    private func conditionHolds(_ condition: Condition, _ request: RuleRequest, capture: inout ByteRange) -> Bool {
        var index = condition.first
        while index < condition.first + condition.count {
            if alternativeHolds(alternatives[index], request, capture: &capture) { return true }
            index += 1
        }
        return false
    }

    private func alternativeHolds(_ alternative: Alternative, _ request: RuleRequest, capture: inout ByteRange) -> Bool {
        let pattern = UnsafeRawBufferPointer(bytes).slice(alternative.pattern)
        switch alternative.kind {
        case .host:
            return Wildcard.matches(pattern, request.source.slice(request.host), ignoringCase: true, firstStar: -1) != nil
        case .path:
            let path = request.path
            let text = path.isEmpty ? RuleRequest.rootPath : request.source.slice(path)
            guard let covered = Wildcard.matches(pattern, text, ignoringCase: false, firstStar: Int(alternative.firstStar)) else {
                return false
            }
            if !path.isEmpty {
                capture = ByteRange(path.lowerBound + covered.lowerBound, path.lowerBound + covered.upperBound)
            }
            return true
        case .method:
            return Wildcard.equal(pattern, request.source.slice(request.method), ignoringCase: false)
        case .header:
            let name = UnsafeRawBufferPointer(bytes).slice(alternative.key)
            let fields = request.fields
            var index = 0
            while index < fields.count {
                let field = fields[index]
                if Wildcard.equal(name, request.source.slice(field.name), ignoringCase: true),
                   Wildcard.matches(pattern, request.source.slice(field.value), ignoringCase: true, firstStar: -1) != nil {
                    return true
                }
                index += 1
            }
            return false
        case .query:
            return queryHolds(key: UnsafeRawBufferPointer(bytes).slice(alternative.key), pattern: pattern, request)
        case .source:
            let masked = SourceCIDR.mask(high: request.peerHigh, low: request.peerLow, prefixLength: alternative.prefixLength)
            return masked.high == alternative.high && masked.low == alternative.low
        }
    }

    /// Whether a `key=value` pair of the query (split at `&`, the first `=`) has the key (case ignored) and a
    /// value the pattern matches (case ignored). A parameter without `=` has an empty value.
    private func queryHolds(key: UnsafeRawBufferPointer, pattern: UnsafeRawBufferPointer, _ request: RuleRequest) -> Bool {
        let query = request.source.slice(request.query)
        var start = 0
        while start <= query.count {
            var end = start
            while end < query.count && query[end] != UInt8(ascii: "&") { end += 1 }
            var equals = start
            while equals < end && query[equals] != UInt8(ascii: "=") { equals += 1 }
            let name = UnsafeRawBufferPointer(rebasing: query[start..<equals])
            let value = equals < end ? UnsafeRawBufferPointer(rebasing: query[(equals + 1)..<end]) : UnsafeRawBufferPointer(rebasing: query[end..<end])
            if Wildcard.equal(key, name, ignoringCase: true),
               Wildcard.matches(pattern, value, ignoringCase: true, firstStar: -1) != nil {
                return true
            }
            start = end + 1
        }
        return false
    }
}

/// What of a request the rules look at, as ranges into the head's buffer (`source`): the host without its port,
/// the path and the query of the target, the method token, the fields, and the peer's address (IPv4 mapped into
/// IPv6, big-endian halves).
struct RuleRequest {
    let source: UnsafeRawBufferPointer
    let fields: HeaderFieldTable
    let method: ByteRange
    let host: ByteRange
    let path: ByteRange
    let query: ByteRange
    let peerHigh: UInt64
    let peerLow: UInt64

    /// What an empty path (`http://host` or `http://host?x`) stands for.
    static var rootPath: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: ("/" as StaticString).utf8Start, count: 1) }

    init(head: RequestHead, fields: HeaderFieldTable, source: UnsafeRawBufferPointer, peerHigh: UInt64, peerLow: UInt64) {
        self.source = source
        self.fields = fields
        method = head.methodRange
        host = Self.hostWithoutPort(head.authority ?? head.host ?? ByteRange(start: 0, count: 0), in: source)
        let target = head.originForm
        var mark = target.lowerBound
        while mark < target.upperBound && source[mark] != UInt8(ascii: "?") { mark += 1 }
        path = ByteRange(target.lowerBound, mark)
        query = mark < target.upperBound ? ByteRange(mark + 1, target.upperBound) : ByteRange(start: 0, count: 0)
        self.peerHigh = peerHigh
        self.peerLow = peerLow
    }

    /// `host:port` → `host`; `[v6]:port` → `v6`.
    static func hostWithoutPort(_ range: ByteRange, in source: UnsafeRawBufferPointer) -> ByteRange {
        guard !range.isEmpty else { return range }
        if source[range.lowerBound] == UInt8(ascii: "[") {
            var end = range.lowerBound + 1
            while end < range.upperBound && source[end] != UInt8(ascii: "]") { end += 1 }
            return ByteRange(range.lowerBound + 1, end)
        }
        var end = range.upperBound
        var index = range.lowerBound
        while index < range.upperBound {
            if source[index] == UInt8(ascii: ":") { end = index }
            index += 1
        }
        return ByteRange(range.lowerBound, end)
    }
}

/// `*` (any run of bytes, none included) and `?` (one byte) over raw bytes, without allocating.
enum Wildcard {
    /// Whether `pattern` matches all of `text`; if so, the part of `text` the `*` at `firstStar` covered (empty
    /// when `firstStar` is -1). Backtracks only to the last `*` seen (linear for patterns of one `*`, quadratic
    /// at worst), the textbook glob matcher; the first `*` takes as little as the rest allows.
    static func matches(_ pattern: UnsafeRawBufferPointer, _ text: UnsafeRawBufferPointer, ignoringCase: Bool,
                        firstStar: Int) -> ByteRange? {
        var p = 0, t = 0
        var star = -1, mark = 0
        var captureStart = 0, captureEnd = 0
        while t < text.count {
            if p < pattern.count && pattern[p] == UInt8(ascii: "*") {
                star = p
                mark = t
                if p == firstStar { captureStart = t; captureEnd = t }
                p += 1
            } else if p < pattern.count && (pattern[p] == UInt8(ascii: "?") || same(pattern[p], text[t], ignoringCase)) {
                p += 1
                t += 1
            } else if star >= 0 {
                p = star + 1
                mark += 1
                t = mark
                if star == firstStar { captureEnd = t }
            } else {
                return nil
            }
        }
        while p < pattern.count && pattern[p] == UInt8(ascii: "*") {
            if p == firstStar { captureStart = t; captureEnd = t }
            p += 1
        }
        guard p == pattern.count else { return nil }
        return ByteRange(captureStart, captureEnd)
    }

    static func equal(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer, ignoringCase: Bool) -> Bool {
        guard a.count == b.count else { return false }
        var index = 0
        while index < a.count {
            if !same(a[index], b[index], ignoringCase) { return false }
            index += 1
        }
        return true
    }

    @inline(__always)
    static func same(_ a: UInt8, _ b: UInt8, _ ignoringCase: Bool) -> Bool {
        a == b || (ignoringCase && lower(a) == lower(b))
    }

    @inline(__always)
    static func lower(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }
}
