/// Where the control plane keeps acknowledged changes: the seam between `commit` and the store. Every change is one
/// `JournalRecord` (the whole routing state after it, its audit entry, its idempotency record), encoded the same
/// way whichever store keeps it, so whatever the routing state holds travels through any store unchanged.
///
/// `LocalStateDirectory` (`state_dir`: a journal fdatasync'ed per change, a snapshot at compaction) is one
/// instance's store; `EtcdStateStore` is a fleet's, shared through etcd.
public protocol RoutingStateStore: AnyObject {
    /// How refusals, the log and the status name the store: `state journal`, `etcd`.
    var name: String { get }
    /// Why no change can be saved now (an unsound journal, etcd unreachable); nil while changes can be saved.
    var problem: String? { get }
    /// Whether other instances share the store: it then keeps only changes made through the admin API (and
    /// reloads), not what each instance derives by itself (a drain ending at its deadline).
    var isShared: Bool { get }
    /// Makes `record` durable (and, for a shared store, wins it against every other instance). When this returns
    /// the change may be published; when it throws, nothing of it may be.
    func append(_ record: JournalRecord) throws(StateStoreError)
    /// Whether enough was appended that `compact` should run (after the reply, not on its path).
    var wantsCompaction: Bool { get }
    /// Keeps `state` (everything acknowledged so far) so that the records before it may go.
    func compact(_ state: PersistedState) throws(StateStoreError)
    /// Whether a retry of `repair` can help while `problem` is set.
    var canRepair: Bool { get }
    /// Tries to make changes savable again; true when `problem` is clear.
    func repair() -> Bool
    /// What the status's `state_store` shows of the store besides `sound` and `problem`: `store` and what locates it.
    var statusMembers: [String: JSONValue] { get }
}

/// What a shared store hands the plane (`ControlPlane.adoptShared`): one record another instance wrote, or the whole
/// state after the store read it again.
public enum SharedStateChange: Sendable {
    case record(JournalRecord)
    case state(PersistedState)
}

/// `state_dir`: `StateJournal` for each change and `StateStore`'s snapshot every `compactionInterval` records.
public final class LocalStateDirectory: RoutingStateStore {
    public let snapshot: StateStore
    public let journal: StateJournal
    /// Journal records since the last snapshot.
    private var recordsSinceSnapshot = 0
    static let compactionInterval = 256

    public init(snapshot: StateStore, journal: StateJournal) {
        self.snapshot = snapshot
        self.journal = journal
    }

    public var name: String { "state journal" }
    public var problem: String? { journal.problem }
    public var isShared: Bool { false }
    public var canRepair: Bool { journal.canBeCut }
    public var wantsCompaction: Bool { recordsSinceSnapshot >= Self.compactionInterval }
    public var statusMembers: [String: JSONValue] { ["store": "local"] }

    public func append(_ record: JournalRecord) throws(StateStoreError) {
        try journal.append(record)
        recordsSinceSnapshot += 1
    }

    /// Rewrites the snapshot, then empties the journal; a failure leaves every record in the journal.
    public func compact(_ state: PersistedState) throws(StateStoreError) {
        try snapshot.save(state)
        try journal.truncate()
        recordsSinceSnapshot = 0
    }

    /// The cut back first, then a snapshot of everything acknowledged (done by the caller's `compact` when this
    /// fails), after which the journal may start empty.
    public func repair() -> Bool { journal.repair() }
}
