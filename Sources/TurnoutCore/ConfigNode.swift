import Yams

/// Lines of the YAML source by dotted key path, so that errors found after reading (by `validate()`, or in the
/// files the configuration names) can still point at a line.
public final class ConfigSourceMap: @unchecked Sendable {  // written only while the file is read
    private var lines: [String: Int] = [:]

    func record(_ path: String, line: Int?) {
        if let line { lines[path] = line }
    }

    /// The line of `path`, or of its nearest recorded ancestor (`a.b[2].c` → `a.b[2]` → `a.b` → `a`).
    public func line(of path: String) -> Int? {
        var path = Substring(path)
        while !path.isEmpty {
            if let line = lines[String(path)] { return line }
            guard let cut = path.lastIndex(where: { $0 == "." || $0 == "[" }) else { return nil }
            path = path[..<cut]
        }
        return nil
    }
}

/// A YAML node with the dotted key path that leads to it. Typed reads throw a `ConfigError` naming the path,
/// the node's line and what was expected.
struct ConfigNode {
    let node: Node
    let path: String
    let sourceMap: ConfigSourceMap

    init(node: Node, path: String, sourceMap: ConfigSourceMap) {
        self.node = node
        self.path = path
        self.sourceMap = sourceMap
        sourceMap.record(path, line: node.mark?.line)
    }

    var line: Int? { node.mark?.line }

    func error(_ message: String) -> ConfigError {
        ConfigError(key: path, line: line, message: message)
    }

    /// Plain `null`, `~` or nothing at all (`key:`); a quoted `'null'` is a string.
    var isNull: Bool {
        guard case let .scalar(scalar) = node, scalar.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// How the node looks, for "got ..." in messages.
    var shape: String { Self.shape(of: node) }

    static func shape(of node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case let .scalar(scalar):
            return scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string)
                ? "null" : "'\(scalar.string)'"
        }
    }

    /// A mapping's entries in file order, with their keys checked against `allowedKeys` (nil: any key, for
    /// maps of names such as `listeners`). A null node reads as an empty mapping.
    func mapping(allowedKeys: [String]?) throws(ConfigError) -> ConfigMapping {
        if isNull { return ConfigMapping(entries: []) }
        guard case let .mapping(mapping) = node else {
            throw error("expected a mapping, got \(shape)")
        }
        var entries: [(key: String, value: ConfigNode)] = []
        for (keyNode, valueNode) in mapping {
            let childPath = path.isEmpty ? "" : "\(path)."
            guard case let .scalar(keyScalar) = keyNode else {
                throw ConfigError(key: path, line: keyNode.mark?.line, message: "expected a plain key, got \(Self.shape(of: keyNode))")
            }
            let key = keyScalar.string
            if let allowedKeys, !allowedKeys.contains(key) {
                let hint = KeySuggestion.closest(to: key, among: allowedKeys).map { "; did you mean '\($0)'?" }
                    ?? "; expected one of: \(allowedKeys.joined(separator: ", "))"
                throw ConfigError(key: childPath + key, line: keyNode.mark?.line, message: "unknown key '\(key)'\(hint)")
            }
            entries.append((key, ConfigNode(node: valueNode, path: childPath + key, sourceMap: sourceMap)))
        }
        return ConfigMapping(entries: entries)
    }

    /// A list's items, with paths `path[0]`, `path[1]`, ... A null node reads as an empty list.
    func sequence(expected: String) throws(ConfigError) -> [ConfigNode] {
        if isNull { return [] }
        guard case let .sequence(sequence) = node else {
            throw error("expected a list of \(expected), got \(shape)")
        }
        return sequence.enumerated().map { ConfigNode(node: $1, path: "\(path)[\($0)]", sourceMap: sourceMap) }
    }

    /// Any non-null scalar's text (numbers included: `matcher: 200` reads as "200").
    func scalarText(expected: String) throws(ConfigError) -> String {
        guard case let .scalar(scalar) = node, !isNull else {
            throw error("expected \(expected), got \(shape)")
        }
        return scalar.string
    }

    func string(expected: String = "a string") throws(ConfigError) -> String {
        try scalarText(expected: expected)
    }

    /// An unquoted YAML integer; `"100"` (quoted) and `1.5` are refused.
    func int() throws(ConfigError) -> Int {
        guard case .scalar = node, node.tag.description == Tag.Name.int.rawValue, let value = node.int else {
            throw error("expected an integer, got \(shape)")
        }
        return value
    }

    /// An unquoted `true` or `false`. YAML 1.1's `yes`/`no`/`on`/`off` are refused: they read as words to most
    /// people, and `"true"` (quoted) is a string.
    func bool() throws(ConfigError) -> Bool {
        guard case let .scalar(scalar) = node, scalar.style == .plain else {
            throw error("expected true or false, got \(shape)")
        }
        switch scalar.string {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default: throw error("expected true or false, got \(shape)")
        }
    }

    func duration() throws(ConfigError) -> ConfigDuration {
        let text = try scalarText(expected: "a duration such as 5s or 250ms")
        guard let duration = ConfigDuration.parse(text) else {
            throw error("expected a duration with a unit (ns, us, ms, s, m, h) such as 5s or 250ms, got '\(text)'")
        }
        return duration
    }

    func hostPort() throws(ConfigError) -> HostPort {
        if case .sequence = node {
            throw error("expected host:port, got a list (quote IPv6 addresses: \"[::1]:8080\")")
        }
        let text = try scalarText(expected: "host:port such as 127.0.0.1:3000")
        guard let hostPort = HostPort.parse(text) else {
            throw error("expected host:port such as 127.0.0.1:3000, [::1]:8080 or :8080, got '\(text)'")
        }
        return hostPort
    }

    func statusMatcher() throws(ConfigError) -> StatusMatcher {
        let text = try scalarText(expected: "status codes such as \"200-399\"")
        guard let matcher = StatusMatcher.parse(text) else {
            throw error("expected status codes 100-599 such as \"200\", \"200-399\" or \"200,204,300-302\", got '\(text)'")
        }
        return matcher
    }

    func port() throws(ConfigError) -> UInt16 {
        let value = try int()
        guard (1...65535).contains(value) else {
            throw error("expected a port 1...65535, got \(value)")
        }
        return UInt16(value)
    }
}

/// A mapping's entries in file order.
struct ConfigMapping {
    let entries: [(key: String, value: ConfigNode)]

    subscript(key: String) -> ConfigNode? {
        entries.first { $0.key == key }?.value
    }
}
