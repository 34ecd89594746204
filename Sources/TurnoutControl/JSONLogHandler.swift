import Glibc
import Logging
import Synchronization
import TurnoutPosix

/// The process log as one JSON object per line (`serve --log-format json`, YAML `log.format: json`), for log
/// shippers such as Loki's promtail or Filebeat:
///
///     {"timestamp":"2026-11-27T13:11:17.123Z","level":"notice","logger":"turnout","source":"TurnoutControl","message":"…","worker":0}
///
/// `timestamp` is RFC 3339 in UTC with milliseconds; `level` is swift-log's name; `logger` the logger's label;
/// `source` the module that logged. The metadata follow as fields of their own, sorted by key: a value set as
/// `.stringConvertible` of an integer, a floating-point number or a boolean is written as that JSON type, a
/// dictionary or an array as an object or an array, anything else as a string. A metadata key that is one of
/// the five above, or starts with `metadata.`, is written as `metadata.<key>`, so that no object has a key
/// twice. Strings are escaped by `JSONValue`'s writer, so a newline in a message is `\n` and never ends the line.
///
/// Lives beside `JSONValue` (the project's one JSON writer) rather than in the CLI so that the unit tests reach
/// it; nothing here is the control plane's own, and workers log through it from their threads.
public struct JSONLogHandler: LogHandler {
    private let label: String
    private let output: LogLineOutput
    private let clock: @Sendable () -> UInt64

    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    /// A handler for `label` writing to `output`, its timestamps read from `clock` (milliseconds since the Unix
    /// epoch, the wall clock unless a test sets one).
    public init(label: String, output: LogLineOutput, metadataProvider: Logger.MetadataProvider? = nil,
                clock: @escaping @Sendable () -> UInt64 = AuditTimestamp.nowMilliseconds) {
        self.label = label
        self.output = output
        self.metadataProvider = metadataProvider
        self.clock = clock
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        // As swift-log's stream handler merges them: the handler's, the provider's, the statement's, the error.
        var fields = metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { _, new in new } }
        if let explicit = event.metadata { fields.merge(explicit) { _, new in new } }
        if let error = event.error {
            fields["error.message"] = "\(error)"
            fields["error.type"] = "\(String(reflecting: type(of: error)))"
        }
        output.write(Self.line(milliseconds: clock(), level: event.level, label: label, source: event.source,
                               message: event.message.description, metadata: fields))
    }

    /// The keys every line has, in the order they are written.
    static let fixedKeys = ["timestamp", "level", "logger", "source", "message"]

    /// One log line, newline included.
    static func line(milliseconds: UInt64, level: Logger.Level, label: String, source: String, message: String,
                     metadata: Logger.Metadata) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(160 + message.utf8.count)
        let fixed = [AuditTimestamp.iso8601(milliseconds: milliseconds), level.rawValue, label, source, message]
        out.append(UInt8(ascii: "{"))
        for (index, (key, value)) in zip(fixedKeys, fixed).enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            JSONValue.writeString(key, into: &out)
            out.append(UInt8(ascii: ":"))
            JSONValue.writeString(value, into: &out)
        }
        for key in metadata.keys.sorted() {
            out.append(UInt8(ascii: ","))
            JSONValue.writeString(fieldName(ofMetadataKey: key), into: &out)
            out.append(UInt8(ascii: ":"))
            Self.json(metadata[key]!).write(into: &out)
        }
        out.append(contentsOf: "}\n".utf8)
        return out
    }

    /// The metadata key `key` as a field's name: itself unless it would clash with a fixed key or with the
    /// name another key is given (`message` and `metadata.message` become `metadata.message` and
    /// `metadata.metadata.message`).
    static func fieldName(ofMetadataKey key: String) -> String {
        fixedKeys.contains(key) || key.hasPrefix("metadata.") ? "metadata." + key : key
    }

    /// A metadata value as JSON: typed where the value is.
    static func json(_ value: Logger.MetadataValue) -> JSONValue {
        switch value {
        case .string(let text):
            return .string(text)
        case .stringConvertible(let convertible):
            switch convertible {
            case let flag as Bool: return .bool(flag)
            case let integer as any BinaryInteger:
                return Int64(exactly: integer).map(JSONValue.int) ?? .string(convertible.description)
            case let number as any BinaryFloatingPoint:
                let double = Double(number)
                return double.isFinite ? .double(double) : .string(convertible.description)
            default: return .string(convertible.description)
            }
        case .dictionary(let members):
            return .object(members.mapValues(json))
        case .array(let elements):
            return .array(elements.map(json))
        }
    }
}

/// Where log lines go: a descriptor that every handler of the process shares, written one whole line at a time.
///
/// A line is built before the lock is taken and handed to `write(2)` whole under it (again only for what a short
/// write left), so lines from several threads never interleave, and a blocking write (a full pipe) holds back
/// only other log lines. As swift-log's stream handler, it gives up quietly when the write fails: there is
/// nowhere left to report it.
public final class LogLineOutput: Sendable {
    private let fd: Mutex<Int32>

    /// Lines to `fd` (standard error unless a test points it elsewhere); the descriptor stays the caller's.
    public init(fd: Int32 = STDERR_FILENO) {
        self.fd = Mutex(fd)
    }

    func write(_ line: [UInt8]) {
        fd.withLock { fd in try? PosixFileSystem().writeAll(fd, line) }
    }
}
