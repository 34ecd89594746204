/// `mirror: { group: green, percent: 10, max_body: 64KiB }` on a route (a listener's forward or a rule's): that share
/// of the route's requests is also sent, as a copy, to a target of `group`, and the copy's answer is thrown away.
/// The client's request never waits for the copy: a copy the worker cannot send at once, or whose body did not
/// arrive whole with the head, is dropped and counted.
public struct RouteMirror: Sendable, Hashable {
    /// The target group the copies go to.
    public var group: String
    /// The share of the route's requests copied, 0...100.
    public var percent: Int
    /// The largest request body copied, in bytes; a request with a longer body is not mirrored.
    public var maxBody: Int

    public init(group: String, percent: Int = 100, maxBody: Int = RouteMirror.defaultMaxBody) {
        self.group = group
        self.percent = percent
        self.maxBody = maxBody
    }

    /// 64 KiB, the example of the configuration file.
    public static let defaultMaxBody = 64 * 1024
    /// What `max_body` may be: a copy's body is one that arrived with its head, so more than a megabyte would
    /// only ever promise what no input buffer holds.
    public static let maxBodyRange = 0...(1 << 20)

    /// The header every copy carries, so the mirror group's application (and its logs) can tell shadow traffic
    /// from real: `X-Turnout-Mirror: 1`. The copy keeps the client's Host, unlike Envoy's `-shadow` suffix, so a
    /// target that picks a virtual host by name answers the copy as it would the request.
    public static let headerName = "X-Turnout-Mirror"

    /// Checks the group (`key.group`), the percentage (`key.percent`) and the body limit (`key.max_body`).
    public func validate(key: String, groupExists: (String) -> Bool) throws(ConfigError) {
        guard groupExists(group) else {
            throw ConfigError(key: "\(key).group", message: "unknown target group '\(group)'")
        }
        guard (0...100).contains(percent) else {
            throw ConfigError(key: "\(key).percent", message: "expected a percentage 0...100, got \(percent)")
        }
        guard Self.maxBodyRange.contains(maxBody) else {
            throw ConfigError(key: "\(key).max_body", message: "expected a size of at most 1MiB, got \(maxBody) bytes")
        }
    }

    /// Parses a size: bytes as an integer, or with a unit `B`, `KiB`, `MiB` (`64KiB`); nil for anything else.
    public static func parseSize(_ text: String) -> Int? {
        let units: [(String, Int)] = [("KiB", 1024), ("MiB", 1024 * 1024), ("B", 1)]
        for (unit, factor) in units where text.hasSuffix(unit) {
            guard let value = Int(text.dropLast(unit.count)), value >= 0, value <= Int.max / factor else { return nil }
            return value * factor
        }
        guard let value = Int(text), value >= 0 else { return nil }
        return value
    }
}
