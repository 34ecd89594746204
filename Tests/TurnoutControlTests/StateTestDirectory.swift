import Foundation
import Glibc
import Logging
import Synchronization
@testable import TurnoutControl

/// A fresh temporary directory per test, removed afterwards.
struct StateTestDirectory {
    let path: String

    init() {
        let temporary = NSTemporaryDirectory().hasSuffix("/") ? String(NSTemporaryDirectory().dropLast()) : NSTemporaryDirectory()
        var template = Array((temporary + "/turnout-state-XXXXXX").utf8CString)
        path = template.withUnsafeMutableBufferPointer { buffer in
            precondition(mkdtemp(buffer.baseAddress!) != nil, "mkdtemp failed")
            return String(cString: buffer.baseAddress!)
        }
    }

    var stateFile: String { path + "/state.json" }

    func store(log: CapturedLog = CapturedLog()) -> StateStore {
        StateStore(directory: path, logger: log.logger)
    }

    func write(_ text: String, to file: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
    }

    func read(_ file: String) throws -> String {
        String(decoding: try Data(contentsOf: URL(fileURLWithPath: file)), as: UTF8.self)
    }

    func exists(_ file: String) -> Bool { FileManager.default.fileExists(atPath: file) }

    func entries() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path).sorted()
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// The mode bits of `path`, or `nil` when nothing is there.
func permissions(_ path: String) -> mode_t? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    return info.st_mode & 0o7777
}

/// Keeps what a `Logger` logs, to check that something was reported and how loudly.
final class CapturedLog: Sendable {
    struct Record: Equatable {
        let level: Logger.Level
        let message: String
    }

    private let records = Mutex<[Record]>([])

    var logger: Logger {
        Logger(label: "test.state") { _ in Handler(log: self) }
    }

    var all: [Record] { records.withLock { $0 } }

    private struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            log.records.withLock { $0.append(Record(level: event.level, message: event.message.description)) }
        }
    }
}

/// A state with something in every field.
func sampleState(generation: UInt64 = 7) -> PersistedState {
    PersistedState(
        generation: generation,
        listeners: [
            "production": [PersistedWeight(group: "blue", weight: 90), PersistedWeight(group: "green", weight: 10)],
            "test": [PersistedWeight(group: "green", weight: 100)],
        ],
        targetGroups: ["blue": ["127.0.0.1:3000", "127.0.0.1:3001"], "green": ["[::1]:4000"]],
        draining: [PersistedDrain(group: "blue", target: "127.0.0.1:3002", until: 1_795_000_000_123)],
        audit: [AuditEntry(
            id: 3, time: "2026-11-26T14:03:12.123Z", action: "switch", caller: "127.0.0.1",
            generationBefore: 6, generationAfter: 7,
            request: ["to": "green", "swap_test": true, "note": "braces } ] \" { in a string"],
            diff: ["listeners": ["production": ["before": ["blue": 100], "after": ["green": 100]]]])],
        idempotency: [IdempotencyRecord(
            key: "deploy-42", method: "POST", path: "/v1/switch", requestHash: String(repeating: "ab", count: 32),
            status: 200, body: "{\"generation\":7}", time: "2026-11-26T14:03:12.123Z")],
        deployment: nil)
}

/// The journal record of change `sequence`: generation `sequence + 1`, production at
/// blue=`sequence`, green=100-`sequence`, one target draining, and the change's audit entry.
func journalRecord(_ sequence: UInt64) -> JournalRecord {
    JournalRecord(
        sequence: sequence, generation: sequence + 1,
        listeners: ["production": [PersistedWeight(group: "blue", weight: Int(sequence)),
                                   PersistedWeight(group: "green", weight: 100 - Int(sequence))]],
        targetGroups: ["blue": ["127.0.0.1:3000"], "green": ["127.0.0.1:\(4000 + sequence)"]],
        draining: [PersistedDrain(group: "green", target: "127.0.0.1:\(3999 + sequence)", until: 1_795_000_000_000 + sequence)],
        audit: AuditEntry(id: sequence, time: "2026-11-27T10:00:00.000Z", action: "routing", caller: "127.0.0.1",
                          generationBefore: sequence, generationAfter: sequence + 1,
                          request: ["listeners": ["production": ["blue": .int(Int64(sequence))]]], diff: [:]),
        idempotency: nil)
}

/// The file's bytes; empty when it does not exist.
func fileBytes(_ path: String) -> [UInt8] {
    Array(FileManager.default.contents(atPath: path) ?? Data())
}
