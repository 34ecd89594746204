import Logging
import TurnoutCore
import TurnoutTLS

/// The routing state of a fleet, kept in etcd under `prefix` and shared by every instance configured with it.
///
/// Keys: `<prefix>/journal/<sequence, 20 digits>` holds each change's `JournalRecord`, the same JSON a local
/// journal line holds (etcd checksums its own data, so without the CRC); the last `retainedRecords` are kept, so that
/// a reload rebuilds the audit log and the idempotency records as far back as they go. `<prefix>/head` holds the
/// last record's sequence: its mod revision is the revision an instance's state is based on.
///
/// A change is one transaction: if `head`'s mod revision is still the one this instance applied last, put the record
/// and the new head (and delete the record that falls out of the window); otherwise nothing, and the change is
/// refused as stale (409). Every instance watches the prefix and hands each record another instance wrote to
/// `onChange`; a gap, a compacted revision or a broken watch makes it read everything again. While etcd cannot be
/// reached, `problem` says so, changes are refused, and the store retries by itself every `retryInterval`.
public final class EtcdStateStore: RoutingStateStore {
    public let prefix: String
    let client: EtcdClient
    let loop: ControlLoop
    let logger: Logger
    /// The mod revision of `head` when this instance last wrote or applied a record: the next change's compare.
    public private(set) var appliedRevision: Int64 = 0
    /// The sequence of the last record written or applied.
    private var appliedSequence: UInt64 = 0
    public private(set) var problem: String?
    /// Called on the control loop with each change made through another instance, and after a reload.
    public var onChange: ((SharedStateChange) -> Void)?
    private var watch: EtcdWatch?
    private var resyncScheduled = false
    /// This instance's registration (`EtcdStateStore+Fleet`), once `register` was called.
    var registration: FleetMember?
    /// The lease this instance's registration lives under.
    var lease: Int64?
    /// Every registered instance, this one included, as the range read and the watch last saw them.
    var members: [String: FleetMember] = [:]
    /// This instance's view of its targets' health (`EtcdStateStore+FleetHealth`), put with its registration.
    public var healthView: (() -> [String: [String: String]])?
    /// Every registered instance's view of its targets' health, as its registration last carried it.
    var healthViews: [String: [String: [String: String]]] = [:]
    /// Changes asked with `?wait=fleet`, waiting for every instance to apply their revision.
    var waiters: [Int: FleetWaiter] = [:]
    var nextWaiter = 0
    /// Each listener's deployment runner, as the range read and the watch last saw `runners/` (`EtcdStateStore+Runners`).
    var runners: [String: RunnerLock] = [:]
    /// The runner locks this instance holds: listener → the key's create revision, compared by every change it writes.
    public internal(set) var heldLocks: [String: Int64] = [:]
    /// Called on the control loop when a runner lock went or came, this instance's lease changed, or the state was
    /// read again: the plane looks at which deployments it runs and which it may take over.
    public var onRunnersChanged: (() -> Void)?
    var runnersCheckScheduled = false
    /// Called on the control loop with another instance's published figures (nil: they went with its lease).
    public var onFigures: ((String, JSONValue?) -> Void)?

    /// How many records stay under `journal/`: as many as the audit log and the idempotency records keep.
    static let retainedRecords: UInt64 = 1000
    /// How soon a broken watch or an unreachable etcd is tried again.
    static let retryInterval: UInt64 = 500_000_000

    /// `tls`: the context made from `config.tls`, nil for plain HTTP; `password`: the one `config.passwordFile`
    /// holds, for `config.username`.
    public init(config: StateConfig, tls: TLSClientContext? = nil, password: String? = nil, loop: ControlLoop, logger: Logger) {
        prefix = config.prefix
        let credentials = config.username.flatMap { name in password.map { EtcdClient.Credentials(name: name, password: $0) } }
        client = EtcdClient(endpoints: config.endpoints, tls: tls, serverName: config.tls?.server.serverName,
                            credentials: credentials)
        self.loop = loop
        self.logger = logger
    }

    public var name: String { "etcd" }
    public var isShared: Bool { true }
    public var wantsCompaction: Bool { false }
    /// The store retries by itself; the plane's repair timer has nothing to do.
    public var canRepair: Bool { false }
    public func repair() -> Bool { problem == nil }
    /// The window of records is kept by each change's transaction; nothing to compact.
    public func compact(_ state: PersistedState) throws(StateStoreError) {}

    public var statusMembers: [String: JSONValue] {
        ["store": "etcd", "endpoints": .array(client.endpoints.map { .string((client.isSecure ? "https://" : "") + $0.description) }),
         "prefix": .string(prefix),
         "revision": .int(appliedRevision), "fleet": fleetJSON, "health_disagreements": healthDisagreementsJSON,
         "runners": runnersJSON]
    }

    var headKey: String { prefix + "/head" }
    var journalPrefix: String { prefix + "/journal/" }

    func recordKey(_ sequence: UInt64) -> String {
        let digits = String(sequence)
        return journalPrefix + String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }

    /// Reads the whole shared state: nil when no change was ever made through the fleet (the configuration rules).
    /// Start-up calls it before anything serves; a failure leaves `problem` set and the retries running.
    public func load() throws(StateStoreError) -> PersistedState? {
        let answer: JSONValue
        do {
            answer = try client.call("/v3/kv/range", EtcdGateway.rangeRequest(prefix: prefix + "/"), resendable: true)
        } catch {
            unreachable(error.description)
            throw .unavailable(store: name, reason: error.description)
        }
        let range: (keyValues: [EtcdGateway.KeyValue], revision: Int64)
        do {
            range = try EtcdGateway.rangeAnswer(answer)
        } catch {
            unreachable(error.description)
            throw .unavailable(store: name, reason: error.description)
        }
        reachable()
        let state = Self.state(of: range.keyValues, journalPrefix: journalPrefix, headKey: headKey, logger: logger)
        appliedRevision = state.headRevision
        appliedSequence = state.state?.journalSequence ?? 0
        watchedFrom = range.revision + 1
        members = [:]
        for keyValue in range.keyValues where keyValue.key.hasPrefix(instancesPrefix) {
            registrationChanged(keyValue, deleted: false)
        }
        runnersRead(range.keyValues.filter { $0.key.hasPrefix(runnersPrefix) })
        for keyValue in range.keyValues where keyValue.key.hasPrefix(figuresPrefix) { figuresChanged(keyValue, deleted: false) }
        announce()
        return state.state
    }

    /// The revision the next watch starts at.
    private var watchedFrom: Int64 = 1

    /// The state the records under `journal/` make, oldest first, and `head`'s mod revision (0 when absent). A record
    /// that does not decode is skipped, logged.
    static func state(of keyValues: [EtcdGateway.KeyValue], journalPrefix: String, headKey: String,
                      logger: Logger) -> (state: PersistedState?, headRevision: Int64) {
        var state: PersistedState?
        var headRevision: Int64 = 0
        for keyValue in keyValues {
            if keyValue.key == headKey { headRevision = keyValue.modRevision }
            guard keyValue.key.hasPrefix(journalPrefix) else { continue }
            guard let json = try? JSONReader.parse(keyValue.value), let record = try? JournalRecord(json: json) else {
                logger.error("etcd: \(keyValue.key) does not hold a journal record; skipped")
                continue
            }
            state = record.applied(to: state ?? PersistedState(generation: record.generation))
        }
        return (state, headRevision)
    }

    /// Starts watching the prefix (after `load`); changes made through other instances reach `onChange`.
    public func startWatching() {
        guard problem == nil else { return scheduleResync() }
        watch?.cancel()
        watch = client.watch(prefix: prefix + "/", from: watchedFrom, on: loop, onMessage: { [weak self] message in
            self?.received(message)
        }, onEnd: { [weak self] reason in
            guard let self else { return }
            logger.warning("etcd: the watch of \(prefix) ended (\(reason)); reading the state again")
            watch = nil
            scheduleResync()
        })
    }

    private func received(_ message: EtcdGateway.WatchMessage) {
        switch message {
        case .created:
            break
        case .compacted(let revision):
            logger.warning("etcd: the watch's revision \(watchedFrom) was compacted (now \(revision)); reading the state again")
            restart()
        case .canceled(let reason):
            logger.warning("etcd: the watch was cancelled (\(reason)); reading the state again")
            restart()
        case .events(let events, let revision):
            watchedFrom = max(watchedFrom, revision + 1)
            for event in events where event.keyValue.key.hasPrefix(instancesPrefix) {
                registrationChanged(event.keyValue, deleted: event.isDelete)
            }
            for event in events where !event.isDelete && event.keyValue.key.hasPrefix(journalPrefix) {
                watchedFrom = max(watchedFrom, event.keyValue.modRevision + 1)
                guard let json = try? JSONReader.parse(event.keyValue.value), let record = try? JournalRecord(json: json) else {
                    logger.error("etcd: \(event.keyValue.key) does not hold a journal record; reading the state again")
                    return restart()
                }
                if record.sequence <= appliedSequence { continue }  // this instance's own, or already read
                guard record.sequence == appliedSequence + 1 else {
                    logger.warning("etcd: record \(record.sequence) follows \(appliedSequence); reading the state again")
                    return restart()
                }
                appliedSequence = record.sequence
                appliedRevision = event.keyValue.modRevision
                onChange?(.record(record))
                announce()
            }
            // After the records: a runner's lock that went is taken over with everything it wrote applied.
            for event in events where event.keyValue.key.hasPrefix(runnersPrefix) {
                runnerLockChanged(event.keyValue, deleted: event.isDelete)
            }
            for event in events where event.keyValue.key.hasPrefix(figuresPrefix) {
                figuresChanged(event.keyValue, deleted: event.isDelete)
            }
        }
    }

    /// Drops the watch and reads everything again, from the loop (not from within the watch's own callback).
    func restart() {
        watch?.cancel()
        watch = nil
        scheduleResync(after: 0)
    }

    private func scheduleResync(after delay: UInt64 = retryInterval) {
        guard !resyncScheduled else { return }
        resyncScheduled = true
        loop.schedule(after: delay) { [weak self] in
            guard let self else { return }
            resyncScheduled = false
            resync()
        }
    }

    /// Reads the whole state again, hands it to the plane when it moved, and watches from there; tried again
    /// later when etcd cannot be reached.
    private func resync() {
        let before = appliedSequence
        let state: PersistedState?
        do {
            state = try load()
        } catch {
            return scheduleResync()
        }
        if let state, state.journalSequence != before { onChange?(.state(state)) }
        startWatching()
    }

    public func append(_ record: JournalRecord) throws(StateStoreError) {
        if let problem { throw .unavailable(store: name, reason: problem) }
        let key = recordKey(record.sequence), bytes = record.jsonValue.jsonBytes
        var operations: [EtcdGateway.Operation] = [
            .put(key: headKey, value: Array(String(record.sequence).utf8)),
            .put(key: key, value: bytes),
        ]
        if record.sequence > Self.retainedRecords {
            operations.append(.delete(key: recordKey(record.sequence - Self.retainedRecords)))
        }
        // The runner locks this instance holds are compared too: a runner that lost its lock (its lease lapsed while
        // it was paused) loses its next change, and stops.
        // A lost compare reads the record's key: an earlier copy of this very transaction may have been applied.
        let request = EtcdGateway.transactionRequest(
            compare: [EtcdGateway.Compare(key: headKey, modRevision: appliedRevision)] + heldLockCompares, success: operations,
            failureReads: [key])
        // Without an answer, unknown whether etcd committed it: the reload that follows the outage tells, and the
        // plane adopts it if it did. The caller was refused either way, so it rereads the status before retrying.
        let outcome = try transaction(request)
        // The client sends a transaction again when a copy may have reached etcd without its answer reaching here
        // (`EtcdResend`). If that copy was applied, `head` moved and the second copy loses the compare, changing
        // nothing; the record's key then holds this record, byte for byte: the change is this one's, committed once.
        // (Another instance's record of the same sequence differs, its audit entry's time and caller at least; one
        // that did not would be the same state, so taking it as this one's would change nothing either.)
        if !outcome.succeeded, let mine = outcome.failureReads.first(where: { $0.key == key && $0.value == bytes }) {
            appliedRevision = mine.modRevision
            appliedSequence = record.sequence
            announce()
            return
        }
        guard outcome.succeeded else {
            let based = appliedRevision
            restart()
            throw .conflict("the shared state changed through another instance since etcd revision \(based), which this "
                + "instance's state is based on: reread the status and retry")
        }
        appliedRevision = outcome.revision
        appliedSequence = record.sequence
        announce()
    }

    /// Runs one transaction: whether its compares held and the revision after it; no answer makes etcd unreachable.
    func transaction(_ request: JSONValue) throws(StateStoreError)
        -> (succeeded: Bool, revision: Int64, failureReads: [EtcdGateway.KeyValue]) {
        do {
            return try EtcdGateway.transactionAnswer(client.call("/v3/kv/txn", request, resendable: true))
        } catch {
            unreachable("\(error)")
            throw .unavailable(store: name, reason: "\(error)")
        }
    }

    func unreachable(_ reason: String) {
        if problem == nil {
            logger.error("etcd cannot be reached (\(reason)); serving the state last applied, refusing changes until it answers")
            watch?.cancel()
            watch = nil
        }
        problem = reason
        scheduleResync()
    }

    private func reachable() {
        guard let was = problem else { return }
        problem = nil
        logger.notice("etcd answers again (was: \(was)); changes are accepted")
    }
}
