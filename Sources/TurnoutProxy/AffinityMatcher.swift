import TurnoutCore
import TurnoutHTTP1

/// A route's stickiness and forced group compiled for the request path: the cookie and header names, the route's
/// group names and each group's `Set-Cookie` line in one block of bytes, built once per routing generation (the
/// weights say whether the route is split, and which groups a sticky cookie may still name). Reading a request's
/// Cookie and header fields against it allocates nothing.
final class AffinityMatcher: @unchecked Sendable {  // immutable after init; the bytes are freed in deinit only
    let bytes: UnsafeMutableRawBufferPointer
    /// Empty where the route has no stickiness, no force header, no force cookie.
    let stickyCookie: ByteRange
    let forceHeader: ByteRange
    let forceCookie: ByteRange
    /// Per position of the route's forward: the group's name, its `Set-Cookie` line (with CRLF), its weight.
    let groupNames: UnsafeMutableBufferPointer<ByteRange>
    let setCookieLines: UnsafeMutableBufferPointer<ByteRange>
    let weighted: UnsafeMutableBufferPointer<Bool>
    let positions: Int
    /// Whether more than one group has weight: the only time a sticky cookie is read or set.
    let isSplit: Bool

    /// nil for a route without stickiness or forced group.
    init?(_ affinity: RouteAffinity, groupNames names: [String], weights: [Int]) {
        guard !affinity.isEmpty else { return nil }
        var pool: [UInt8] = []
        func add(_ text: String) -> ByteRange {
            let start = pool.count
            pool.append(contentsOf: Array(text.utf8))
            return ByteRange(start, pool.count)
        }
        let none = ByteRange(start: 0, count: 0)
        stickyCookie = affinity.stickiness.map { add($0.cookie) } ?? none
        forceHeader = affinity.forceGroup?.header.map { add($0) } ?? none
        forceCookie = affinity.forceGroup?.cookie.map { add($0) } ?? none
        let nameRanges = names.map { add($0) }
        let lines = names.map { name -> ByteRange in
            guard let stickiness = affinity.stickiness else { return none }
            let seconds = stickiness.duration.nanoseconds / 1_000_000_000
            return add("Set-Cookie: \(stickiness.cookie)=\(name); Max-Age=\(seconds); Path=/; HttpOnly\r\n")
        }
        positions = names.count
        isSplit = weights.filter { $0 > 0 }.count > 1
        bytes = .allocate(byteCount: max(pool.count, 1), alignment: 1)
        bytes.copyBytes(from: pool)
        groupNames = .allocate(capacity: max(positions, 1))
        _ = groupNames.initialize(from: nameRanges)
        setCookieLines = .allocate(capacity: max(positions, 1))
        _ = setCookieLines.initialize(from: lines)
        weighted = .allocate(capacity: max(positions, 1))
        _ = weighted.initialize(from: weights.map { $0 > 0 })
    }

    deinit {
        bytes.deallocate()
        groupNames.deallocate()
        setCookieLines.deallocate()
        weighted.deallocate()
    }

    /// The position of the group the request names by the force header or cookie, if it names one of the route's.
    func forcedPosition(_ fields: HeaderFieldTable, source: UnsafeRawBufferPointer) -> Int? {
        if !forceHeader.isEmpty {
            let name = UnsafeRawBufferPointer(bytes).slice(forceHeader)
            var index = 0
            while index < fields.count {
                let field = fields[index]
                if source.slice(field.name).equalsIgnoringCase(name),
                   let position = position(named: source.slice(field.value), weightedOnly: false) {
                    return position
                }
                index += 1
            }
        }
        if !forceCookie.isEmpty { return cookiePosition(forceCookie, fields, source: source, weightedOnly: false) }
        return nil
    }

    /// The position of the group the sticky cookie names, when the route is split and that group still has weight.
    func stickyPosition(_ fields: HeaderFieldTable, source: UnsafeRawBufferPointer) -> Int? {
        guard isSplit, !stickyCookie.isEmpty else { return nil }
        return cookiePosition(stickyCookie, fields, source: source, weightedOnly: true)
    }

    /// Whether a response routed to `position` pins the client there: the route is split and sticky.
    var setsCookie: Bool { isSplit && !stickyCookie.isEmpty }

    /// The `Set-Cookie` line (CRLF included) that pins a client to the group at `position`.
    func setCookieLine(_ position: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(bytes).slice(setCookieLines[position])
    }

    /// Reads every Cookie field's `name=value` pairs (RFC 6265 §4.2.1: separated by `;` and a space) for the cookie
    /// `cookie`, whose value names a group.
    private func cookiePosition(_ cookie: ByteRange, _ fields: HeaderFieldTable, source: UnsafeRawBufferPointer,
                                weightedOnly: Bool) -> Int? {
        let wanted = UnsafeRawBufferPointer(bytes).slice(cookie)
        var index = 0
        while index < fields.count {
            let field = fields[index]
            index += 1
            guard source.slice(field.name).equalsIgnoringCase("cookie") else { continue }
            let value = source.slice(field.value)
            var start = 0
            while start < value.count {
                var end = start
                while end < value.count && value[end] != UInt8(ascii: ";") { end += 1 }
                var first = start
                while first < end && (value[first] == UInt8(ascii: " ") || value[first] == UInt8(ascii: "\t")) { first += 1 }
                var equals = first
                while equals < end && value[equals] != UInt8(ascii: "=") { equals += 1 }
                if equals < end,
                   UnsafeRawBufferPointer(rebasing: value[first..<equals]).equals(wanted),
                   let position = position(named: UnsafeRawBufferPointer(rebasing: value[(equals + 1)..<end]),
                                           weightedOnly: weightedOnly) {
                    return position
                }
                start = end + 1
            }
        }
        return nil
    }

    private func position(named name: UnsafeRawBufferPointer, weightedOnly: Bool) -> Int? {
        var position = 0
        while position < positions {
            if (!weightedOnly || weighted[position]),
               UnsafeRawBufferPointer(bytes).slice(groupNames[position]).equals(name) {
                return position
            }
            position += 1
        }
        return nil
    }
}
