/// A configuration problem: which key, where in the file, and what was expected.
///
/// The same type reports refused routing changes (`RoutingTable.replacingForward`), where `line` is nil.
public struct ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Dotted path of the offending key, e.g. `listeners.production.forward.blue` or
    /// `target_groups.blue.targets[1]`. Empty for a YAML syntax error, which belongs to no key.
    public var key: String
    /// 1-based line in the YAML source, when known.
    public var line: Int?
    public var message: String

    public init(key: String, line: Int? = nil, message: String) {
        self.key = key
        self.line = line
        self.message = message
    }

    /// `listeners.production.forward.blue (line 7): weight must be ...`
    public var description: String {
        switch (key.isEmpty, line) {
        case (true, nil): return message
        case (true, let line?): return "line \(line): \(message)"
        case (false, nil): return "\(key): \(message)"
        case (false, let line?): return "\(key) (line \(line)): \(message)"
        }
    }
}
