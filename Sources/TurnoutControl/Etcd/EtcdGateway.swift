import Foundation

/// The etcd v3 JSON gateway's messages, as the gateway writes and reads them (grpc-gateway's protobuf JSON): keys and
/// values base64, 64-bit integers as decimal strings, members left out when they hold their zero value. Pure: the
/// requests are built and the answers read here, sent and received by `EtcdClient`.
enum EtcdGateway {
    /// One key's value and revisions (`mvccpb.KeyValue`).
    struct KeyValue: Equatable, Sendable {
        var key: String
        var value: [UInt8]
        var createRevision: Int64
        var modRevision: Int64
    }

    /// A condition of a transaction (`etcdserverpb.Compare`): `key`'s mod revision, or its create revision, equals
    /// `revision` (0 when the key is absent: a create revision of 0 asks that nobody holds the key).
    struct Compare: Equatable, Sendable {
        enum Target: String, Sendable { case mod = "MOD", create = "CREATE" }
        var key: String
        var target: Target
        var revision: Int64

        init(key: String, modRevision: Int64) {
            self.key = key
            target = .mod
            revision = modRevision
        }

        init(key: String, createRevision: Int64) {
            self.key = key
            target = .create
            revision = createRevision
        }
    }

    /// An operation of a transaction's success branch; a put under a lease goes with the lease.
    enum Operation: Equatable, Sendable {
        case put(key: String, value: [UInt8], lease: Int64? = nil)
        case delete(key: String)
    }

    /// A watch message: the events of a revision, or the end of the watch.
    enum WatchMessage: Equatable, Sendable {
        /// The watch is open from this revision on (the first message).
        case created(revision: Int64)
        /// Changes under the prefix, in revision order; `revision` is the store's at the message.
        case events([WatchEvent], revision: Int64)
        /// The revision asked for was compacted away: the watcher must read everything again.
        case compacted(compactRevision: Int64)
        /// The gateway or the server ended the watch (`reason`).
        case canceled(reason: String)
    }

    struct WatchEvent: Equatable, Sendable {
        var isDelete: Bool
        var keyValue: KeyValue
    }

    /// A gateway answer that is not what its request asks for.
    struct MalformedAnswer: Error, Equatable, CustomStringConvertible {
        var description: String
    }

    // MARK: requests

    /// `POST /v3/kv/range` of every key under `prefix` (`prefix` + "\u{0}"... as range_end: the prefix with its last
    /// byte incremented, etcd's own way of asking for a prefix).
    static func rangeRequest(prefix: String) -> JSONValue {
        ["key": .string(base64(prefix)), "range_end": .string(base64(prefixEnd(Array(prefix.utf8))))]
    }

    /// `POST /v3/kv/txn`: when every compare holds, the operations; otherwise a read of each of `failureReads`' keys
    /// (`transactionAnswer`'s `failureReads`).
    static func transactionRequest(compare: [Compare], success: [Operation], failureReads: [String] = []) -> JSONValue {
        let compares: [JSONValue] = compare.map {
            ["key": .string(base64($0.key)), "target": .string($0.target.rawValue), "result": "EQUAL",
             $0.target == .mod ? "mod_revision" : "create_revision": .string(String($0.revision))]
        }
        let operations: [JSONValue] = success.map { operation in
            switch operation {
            case .put(let key, let value, let lease):
                var put: [String: JSONValue] = ["key": .string(base64(key)), "value": .string(base64(value))]
                if let lease { put["lease"] = .string(String(lease)) }
                return ["request_put": .object(put)]
            case .delete(let key):
                return ["request_delete_range": ["key": .string(base64(key))]]
            }
        }
        guard !failureReads.isEmpty else { return ["compare": .array(compares), "success": .array(operations)] }
        let reads: [JSONValue] = failureReads.map { ["request_range": ["key": .string(base64($0))]] }
        return ["compare": .array(compares), "success": .array(operations), "failure": .array(reads)]
    }

    /// `POST /v3/watch`'s create request: every change under `prefix` from `startRevision` on.
    static func watchRequest(prefix: String, startRevision: Int64) -> JSONValue {
        ["create_request": [
            "key": .string(base64(prefix)), "range_end": .string(base64(prefixEnd(Array(prefix.utf8)))),
            "start_revision": .string(String(startRevision)),
        ]]
    }

    // MARK: answers

    /// A range answer: the keys (in key order) and the store's revision.
    static func rangeAnswer(_ answer: JSONValue) throws(MalformedAnswer) -> (keyValues: [KeyValue], revision: Int64) {
        let revision = try headerRevision(answer)
        var keyValues: [KeyValue] = []
        for item in answer["kvs"]?.arrayValue ?? [] { keyValues.append(try keyValue(item)) }
        return (keyValues, revision)
    }

    /// A transaction answer: whether the compares held, the store's revision after it, and, when they did not, the
    /// keys its `failureReads` found.
    static func transactionAnswer(_ answer: JSONValue) throws(MalformedAnswer)
        -> (succeeded: Bool, revision: Int64, failureReads: [KeyValue]) {
        let succeeded = answer["succeeded"]?.boolValue ?? false
        var reads: [KeyValue] = []
        if !succeeded {
            for response in answer["responses"]?.arrayValue ?? [] {
                for item in response["response_range"]?["kvs"]?.arrayValue ?? [] { reads.append(try keyValue(item)) }
            }
        }
        return (succeeded, try headerRevision(answer), reads)
    }

    /// One message of a watch stream (`{"result": WatchResponse}` or `{"error": ...}`).
    static func watchMessage(_ message: JSONValue) throws(MalformedAnswer) -> WatchMessage {
        if let error = message["error"] {
            return .canceled(reason: error["message"]?.stringValue ?? error["error"]?.stringValue ?? "\(error)")
        }
        guard let result = message["result"] else { throw MalformedAnswer(description: "a watch message without 'result'") }
        if let compacted = try int64(result["compact_revision"], "compact_revision"), compacted > 0 {
            return .compacted(compactRevision: compacted)
        }
        if result["canceled"]?.boolValue == true {
            return .canceled(reason: result["cancel_reason"]?.stringValue ?? "canceled")
        }
        let revision = try headerRevision(result)
        if result["created"]?.boolValue == true { return .created(revision: revision) }
        var events: [WatchEvent] = []
        for event in result["events"]?.arrayValue ?? [] {
            guard let kv = event["kv"] else { throw MalformedAnswer(description: "a watch event without 'kv'") }
            events.append(WatchEvent(isDelete: event["type"]?.stringValue == "DELETE", keyValue: try keyValue(kv)))
        }
        return .events(events, revision: revision)
    }

    private static func headerRevision(_ answer: JSONValue) throws(MalformedAnswer) -> Int64 {
        guard let header = answer["header"] else { throw MalformedAnswer(description: "an answer without 'header'") }
        return try int64(header["revision"], "header.revision") ?? 0
    }

    private static func keyValue(_ item: JSONValue) throws(MalformedAnswer) -> KeyValue {
        guard let key = item["key"]?.stringValue.flatMap(unbase64) else {
            throw MalformedAnswer(description: "a key-value without a base64 'key'")
        }
        let value = try item["value"].map { value throws(MalformedAnswer) -> [UInt8] in
            guard let bytes = value.stringValue.flatMap(unbase64) else { throw MalformedAnswer(description: "a value that is not base64") }
            return bytes
        } ?? []
        return KeyValue(key: String(decoding: key, as: UTF8.self), value: value,
                        createRevision: try int64(item["create_revision"], "create_revision") ?? 0,
                        modRevision: try int64(item["mod_revision"], "mod_revision") ?? 0)
    }

    /// The gateway writes int64 as a decimal string; a plain number is taken too.
    private static func int64(_ value: JSONValue?, _ name: String) throws(MalformedAnswer) -> Int64? {
        switch value {
        case nil: return nil
        case .int(let number)?: return number
        case .string(let text)?:
            guard let number = Int64(text) else { throw MalformedAnswer(description: "'\(name)' is not an integer: '\(text)'") }
            return number
        default: throw MalformedAnswer(description: "'\(name)' is not an integer")
        }
    }

    // MARK: bytes

    static func base64(_ text: String) -> String { base64(Array(text.utf8)) }

    static func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    static func unbase64(_ text: String) -> [UInt8]? { Data(base64Encoded: text).map(Array.init) }

    /// The end of the range holding every key that starts with `prefix`: its last byte below 0xff incremented, the
    /// bytes after it dropped.
    static func prefixEnd(_ prefix: [UInt8]) -> [UInt8] {
        var end = prefix
        while let last = end.last {
            if last < 0xFF {
                end[end.count - 1] = last + 1
                return end
            }
            end.removeLast()
        }
        return [0]  // every key
    }
}

/// Splits a watch stream's body (already de-chunked) into its messages: the gateway writes each as one JSON object
/// followed by a newline. Bytes that do not end a message yet wait for the next read.
struct EtcdWatchFraming {
    private var pending: [UInt8] = []
    /// The longest message waited for; a longer one is a broken stream.
    static let maxMessageBytes = 4 << 20

    enum Failure: Error, Equatable { case messageTooLong }

    /// The complete messages' bytes in `bytes` and before them, in order.
    mutating func take(_ bytes: ArraySlice<UInt8>) throws(Failure) -> [[UInt8]] {
        pending += bytes
        var messages: [[UInt8]] = []
        var start = 0
        while let newline = pending[start...].firstIndex(of: 0x0A) {
            let line = pending[start..<newline]
            if line.contains(where: { $0 != 0x20 && $0 != 0x0D }) { messages.append(Array(line)) }
            start = newline + 1
        }
        pending.removeFirst(start)
        if pending.count > Self.maxMessageBytes { throw .messageTooLong }
        return messages
    }
}
