/// The access log (YAML `access_log`): one line per request, written off the workers' path. A listener may
/// override it (`listeners.<name>.access_log`), or turn it off there.
public struct AccessLogConfig: Sendable, Hashable {
    /// The file the lines are appended to (created if missing; a FIFO works too).
    public var path: String
    public var format: AccessLogFormat

    public init(path: String, format: AccessLogFormat = .combined) {
        self.path = path
        self.format = format
    }
}

/// How an access log line is written.
public enum AccessLogFormat: String, Sendable, CaseIterable {
    /// Apache's and nginx's combined format, then the proxy's fields as `key=value`.
    case combined
    /// One JSON object per line.
    case json
}

/// A listener's `access_log`: what it sets over the top-level one (nil: inherited), or `off`.
public enum ListenerAccessLog: Sendable, Hashable {
    case override(path: String?, format: AccessLogFormat?)
    case off
}

extension TurnoutConfig {
    /// The access log `listener` writes to, its override over the top-level one; nil: none.
    public func accessLog(of listener: ListenerConfig) -> AccessLogConfig? {
        switch listener.accessLog {
        case nil:
            return accessLog
        case .off?:
            return nil
        case .override(let path, let format)?:
            guard let path = path ?? accessLog?.path else { return nil }
            return AccessLogConfig(path: path, format: format ?? accessLog?.format ?? .combined)
        }
    }
}
