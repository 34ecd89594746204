/// The process log (YAML `log`): how its lines are written and the least severe level written. `turnout serve`'s
/// `--log-format` and `--log-level` override either for one run; only a restart changes them.
public struct LogConfig: Sendable, Hashable {
    public var format: LogFormat
    public var level: LogLevel

    public init(format: LogFormat = .text, level: LogLevel = .info) {
        self.format = format
        self.level = level
    }
}

/// How a process log line is written.
public enum LogFormat: String, Sendable, CaseIterable {
    /// swift-log's stream handler: `<time> <level> <label> : <metadata> [<module>] <message>`, for people.
    case text
    /// One JSON object per line (timestamp, level, logger, source, message, the metadata as fields), for log
    /// shippers (Loki, Elasticsearch).
    case json
}

/// A log level, least severe first; the names are swift-log's.
public enum LogLevel: String, Sendable, CaseIterable {
    case trace, debug, info, notice, warning, error, critical
}
