import TurnoutCore
import TurnoutHTTP1

/// The rules a request's host can meet, found in hash tables instead of trying every rule's host patterns in turn:
/// what keeps a listener of many host rules as cheap per request as one of a few.
///
/// A rule whose every host pattern is exact (`api.example.com`) or a `*.` before an exact rest
/// (`*.docs.example.com`) is indexed under each of them, lowercase; any other rule (another wildcard in a host
/// pattern, or no host condition) is left to the ordered scan (`unindexed`). Built once with the matcher,
/// read-only after; a look-up hashes the request's bytes (ASCII case folded as it goes), never making a string.
/// A host with a trailing dot is another host here, as it is for the patterns tried in turn.
///
/// Each key's rules are in ascending order, so the matcher takes the first one of each list whose other
/// conditions hold, and the lowest of those and of the first unindexed rule that matches is the rule the ordered
/// scan would have found.
final class RuleHostIndex: @unchecked Sendable {  // immutable after init; the tables are freed in deinit only
    /// One key: its hash, its bytes (lowercase) and its rules `first ..< first + count` in `rules`; `count` 0
    /// marks an empty slot.
    struct Slot {
        var hash: UInt64
        var key: ByteRange
        var first: Int32
        var count: Int32
    }

    /// Open addressing, linear probing, a power of two of slots at most half full.
    struct Table {
        let slots: UnsafeMutableBufferPointer<Slot>
        var mask: Int { slots.count - 1 }
        var isEmpty: Bool
    }

    /// Exact hosts.
    let exact: Table
    /// `*.` patterns, by what follows the `*` (the dot included): a host whose end from one of its dots on is a key.
    let suffixes: Table
    /// Every key's bytes, one after the other (`Slot.key` ranges into them).
    let keys: UnsafeMutableRawBufferPointer
    /// Rule indices, each key's together, ascending.
    let rules: UnsafeMutableBufferPointer<Int32>
    /// The rules the index does not hold, ascending: `unindexedCount` of them (the buffer holds one slot even when
    /// there are none).
    let unindexed: UnsafeMutableBufferPointer<Int32>
    let unindexedCount: Int

    init(_ routes: [RuleRoute]) {
        var exactKeys: [[UInt8]: [Int32]] = [:]
        var suffixKeys: [[UInt8]: [Int32]] = [:]
        var exactOrder: [[UInt8]] = []
        var suffixOrder: [[UInt8]] = []
        var unindexed: [Int32] = []
        for (index, route) in routes.enumerated() {
            let hosts = route.match.hosts
            let indexable = !hosts.isEmpty && hosts.allSatisfy { Self.suffixKey($0) != nil || Self.isExact($0) }
            guard indexable else {
                unindexed.append(Int32(index))
                continue
            }
            for host in hosts {
                let rule = Int32(index)
                if let suffix = Self.suffixKey(host) {
                    if suffixKeys[suffix] == nil { suffixOrder.append(suffix) }
                    if suffixKeys[suffix, default: []].last != rule { suffixKeys[suffix, default: []].append(rule) }
                } else {
                    let key = host.utf8.map(Wildcard.lower)
                    if exactKeys[key] == nil { exactOrder.append(key) }
                    if exactKeys[key, default: []].last != rule { exactKeys[key, default: []].append(rule) }
                }
            }
        }
        var pool: [UInt8] = []
        var flatRules: [Int32] = []
        func table(_ order: [[UInt8]], _ lists: [[UInt8]: [Int32]]) -> Table {
            var capacity = 2
            while capacity < 2 * order.count { capacity *= 2 }
            let slots = UnsafeMutableBufferPointer<Slot>.allocate(capacity: capacity)
            slots.initialize(repeating: Slot(hash: 0, key: ByteRange(start: 0, count: 0), first: 0, count: 0))
            for key in order {
                let list = lists[key]!
                let hash = Self.hash(key)
                var position = Int(truncatingIfNeeded: hash) & (capacity - 1)
                while slots[position].count != 0 { position = (position + 1) & (capacity - 1) }
                let start = pool.count
                pool.append(contentsOf: key)
                slots[position] = Slot(hash: hash, key: ByteRange(start, pool.count), first: Int32(flatRules.count),
                                       count: Int32(list.count))
                flatRules.append(contentsOf: list)
            }
            return Table(slots: slots, isEmpty: order.isEmpty)
        }
        exact = table(exactOrder, exactKeys)
        suffixes = table(suffixOrder, suffixKeys)
        keys = .allocate(byteCount: max(pool.count, 1), alignment: 1)
        keys.copyBytes(from: pool)
        rules = .allocate(capacity: max(flatRules.count, 1))
        _ = rules.initialize(from: flatRules)
        self.unindexed = .allocate(capacity: max(unindexed.count, 1))
        _ = self.unindexed.initialize(from: unindexed)
        unindexedCount = unindexed.count
    }

    deinit {
        exact.slots.deallocate()
        suffixes.slots.deallocate()
        keys.deallocate()
        rules.deallocate()
        unindexed.deallocate()
    }

    /// Where a look-up is in the host: the hash runs from the host's last byte to its first, so that at each dot
    /// it is the hash of the suffix from there on, and at the end the whole host's.
    struct Walk {
        var position: Int
        var hash = RuleHostIndex.seed
        var done = false

        init(_ host: UnsafeRawBufferPointer) { position = host.count }
    }

    /// The next list of rules indexed under `host` (by a suffix, then exact), or nil when there is none left:
    /// ascending within a list, possibly overlapping between lists. A loop over `walk` rather than a closure per
    /// list, which an unoptimised build would allocate a context for.
    func nextList(_ host: UnsafeRawBufferPointer, _ walk: inout Walk) -> UnsafeBufferPointer<Int32>? {
        while walk.position > 0 {
            walk.position -= 1
            let byte = host[walk.position]
            walk.hash = Self.step(walk.hash, Wildcard.lower(byte))
            if byte == UInt8(ascii: "."), !suffixes.isEmpty {
                let list = lookUp(suffixes, walk.hash, UnsafeRawBufferPointer(rebasing: host[walk.position..<host.count]))
                if !list.isEmpty { return list }
            }
        }
        guard !walk.done else { return nil }
        walk.done = true
        if !exact.isEmpty {
            let list = lookUp(exact, walk.hash, host)
            if !list.isEmpty { return list }
        }
        return nil
    }

    private func lookUp(_ table: Table, _ hash: UInt64, _ key: UnsafeRawBufferPointer) -> UnsafeBufferPointer<Int32> {
        var position = Int(truncatingIfNeeded: hash) & table.mask
        while true {
            let slot = table.slots[position]
            if slot.count == 0 { return UnsafeBufferPointer(start: nil, count: 0) }
            if slot.hash == hash, Self.equalFolded(UnsafeRawBufferPointer(keys).slice(slot.key), key) {
                return UnsafeBufferPointer(rebasing: UnsafeBufferPointer(rules)[Int(slot.first)..<Int(slot.first + slot.count)])
            }
            position = (position + 1) & table.mask
        }
    }

    /// Whether `lowercase` (a key) equals `text` with its ASCII letters lowered.
    private static func equalFolded(_ lowercase: UnsafeRawBufferPointer, _ text: UnsafeRawBufferPointer) -> Bool {
        guard lowercase.count == text.count else { return false }
        var index = 0
        while index < text.count {
            if lowercase[index] != Wildcard.lower(text[index]) { return false }
            index += 1
        }
        return true
    }

    /// Whether a host pattern has no wildcard.
    static func isExact(_ pattern: String) -> Bool {
        !pattern.utf8.contains { $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?") }
    }

    /// `*.rest` with no wildcard in `rest` → `.rest`, lowercase; nil for any other pattern.
    static func suffixKey(_ pattern: String) -> [UInt8]? {
        let bytes = Array(pattern.utf8)
        guard bytes.count >= 2, bytes[0] == UInt8(ascii: "*"), bytes[1] == UInt8(ascii: "."),
              isExact(String(decoding: bytes[1...], as: UTF8.self)) else { return nil }
        return bytes[1...].map(Wildcard.lower)
    }

    /// FNV-1a (64 bits) over the bytes from last to first.
    static let seed: UInt64 = 0xcbf2_9ce4_8422_2325

    @inline(__always)
    static func step(_ hash: UInt64, _ byte: UInt8) -> UInt64 {
        (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
    }

    static func hash(_ key: [UInt8]) -> UInt64 {
        key.reversed().reduce(seed, step)
    }
}
