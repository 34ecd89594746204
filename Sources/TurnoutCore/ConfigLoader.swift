import Foundation
import Yams

/// Reads and validates `turnout.yaml`.
///
/// Reading stops at the first problem: first anything that cannot be read as the expected type (unknown keys,
/// wrong types, bad durations, addresses or matchers), in file order; then the checks of
/// `TurnoutConfig.validate()` (ranges, duplicates, references between sections). The error names the dotted
/// key and its line.
public enum ConfigLoader {
    /// Reads the file at `path` and parses it.
    public static func load(path: String) throws -> TurnoutConfig {
        try loadLocated(path: path).config
    }

    /// Reads the file at `path` like `load(path:)`, keeping the line of each key for errors found later, in what
    /// the file names (a certificate that does not load).
    public static func loadLocated(path: String) throws -> (config: TurnoutConfig, lines: ConfigSourceMap) {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ConfigError(key: "", message: "cannot read config file '\(path)': \(error.localizedDescription)")
        }
        guard let yaml = String(data: data, encoding: .utf8) else {
            throw ConfigError(key: "", message: "config file '\(path)' is not valid UTF-8")
        }
        return try parseLocated(yaml: yaml)
    }

    /// Parses and validates a configuration given as YAML text.
    public static func parse(yaml: String) throws -> TurnoutConfig {
        try parseLocated(yaml: yaml).config
    }

    /// Parses and validates like `parse(yaml:)`, keeping the line of each key.
    public static func parseLocated(yaml: String) throws -> (config: TurnoutConfig, lines: ConfigSourceMap) {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw configError(from: error)
        }
        guard let root else {
            throw ConfigError(key: "", line: 1, message: "the configuration is empty; expected at least 'listeners' and 'target_groups'")
        }
        let sourceMap = ConfigSourceMap()
        let config = try ConfigSections.read(ConfigNode(node: root, path: "", sourceMap: sourceMap))
        do {
            try config.validate()
        } catch {
            throw ConfigError(key: error.key, line: error.line ?? sourceMap.line(of: error.key), message: error.message)
        }
        return (config, sourceMap)
    }

    static func configError(from error: YamlError) -> ConfigError {
        switch error {
        case let .scanner(context, problem, mark, yaml),
             let .parser(context, problem, mark, yaml),
             let .composer(context, problem, mark, yaml):
            let during = context.map { " (\($0.text), line \($0.mark.line))" } ?? ""
            let hint = looksLikeUnquotedIPv6(line: mark.line, of: yaml)
                ? "; quote IPv6 addresses: \"[::1]:8080\"" : ""
            return ConfigError(key: "", line: mark.line, message: "YAML syntax error: \(problem)\(during)\(hint)")
        case let .duplicatedKeysInMapping(duplicates, context):
            let names = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return ConfigError(
                key: duplicates.count == 1 ? duplicates[0] : "",
                line: context.mark.line,
                message: "key \(names) appears more than once in the same mapping"
            )
        default:
            return ConfigError(key: "", message: "YAML error: \(error)")
        }
    }

    /// `[::1]:8080` unquoted opens a YAML flow sequence and ends in a syntax error far from what the user meant;
    /// spotting `[` + hex digits and at least two colons + `]` on the failing line lets the message say what to do.
    private static func looksLikeUnquotedIPv6(line: Int, of yaml: String) -> Bool {
        guard line >= 1, let text = yaml.split(separator: "\n", omittingEmptySubsequences: false).dropFirst(line - 1).first
        else { return false }
        var rest = text[...]
        while let open = rest.firstIndex(of: "[") {
            let inside = rest[rest.index(after: open)...].prefix { $0.isHexDigit || $0 == ":" || $0 == "%" || $0 == "." }
            let after = rest[inside.endIndex...]
            if inside.filter({ $0 == ":" }).count >= 2, after.hasPrefix("]") {
                return true
            }
            rest = rest[rest.index(after: open)...]
        }
        return false
    }
}
