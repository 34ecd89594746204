import TurnoutCore

/// One runner per listener across the fleet: the instance that runs a deployment on a listener holds
/// `<prefix>/runners/<listener>`, created in a transaction that asks the key to be absent (create revision 0) and put
/// under the instance's lease, so that it goes when the instance dies (or stays cut off longer than the lease). Every
/// change the runner writes compares the lock's create revision besides `head`: a runner that lost its lock loses its
/// next change. The deployment itself travels in every journal record, so each instance follows it and the one that
/// takes a lock that went carries the deployment on from the record (`DeploymentRunner.fleetRunnersChanged`).
extension EtcdStateStore: RunnerLocking {
    public var canTakeLocks: Bool { problem == nil && lease != nil && registration != nil }

    var runnersPrefix: String { prefix + "/runners/" }

    func runnerKey(_ listener: String) -> String { runnersPrefix + listener }

    /// Who holds `listener`'s runner lock, as this instance last saw it.
    public func runner(of listener: String) -> RunnerLock? { runners[listener] }

    /// Takes `listener`'s runner lock for this instance, in one transaction that also compares `head` (so the lock is
    /// taken with everything the fleet wrote applied here). True when taken, or held already; false when another
    /// instance holds it or the state moved under this instance (its watch brings the change).
    public func takeRunnerLock(listener: String) throws(StateStoreError) -> Bool {
        if heldLocks[listener] != nil { return true }
        if let problem { throw .unavailable(store: name, reason: problem) }
        guard let lease, let member = registration else {
            throw .unavailable(store: name, reason: "this instance has no lease yet; retry in a second")
        }
        let key = runnerKey(listener)
        let lock = RunnerLock(instance: member.instance, address: member.address, createRevision: 0)
        let request = EtcdGateway.transactionRequest(
            compare: Self.lockCompares(key: key, headKey: headKey, appliedRevision: appliedRevision),
            success: [.put(key: key, value: lock.jsonValue.jsonBytes, lease: lease)])
        let outcome = try transaction(request)
        guard outcome.succeeded else { return false }
        // A transaction's writes all carry its revision: the lock's create revision.
        heldLocks[listener] = outcome.revision
        runners[listener] = RunnerLock(instance: member.instance, address: member.address, createRevision: outcome.revision)
        return true
    }

    /// The conditions of taking a lock: nobody holds `key`, and `head` is where this instance's state is.
    static func lockCompares(key: String, headKey: String, appliedRevision: Int64) -> [EtcdGateway.Compare] {
        [EtcdGateway.Compare(key: key, createRevision: 0), EtcdGateway.Compare(key: headKey, modRevision: appliedRevision)]
    }

    /// Lets `listener`'s lock go (its deployment ended): deleted only if it is still the one this instance took.
    public func releaseRunnerLock(listener: String) {
        guard let revision = heldLocks.removeValue(forKey: listener) else { return }
        let key = runnerKey(listener)
        if runners[listener]?.createRevision == revision { runners[listener] = nil }
        let request = EtcdGateway.transactionRequest(compare: [EtcdGateway.Compare(key: key, createRevision: revision)],
                                                     success: [.delete(key: key)])
        client.send("/v3/kv/txn", request, on: loop) { [logger] answer in
            if case .failure(let error) = answer {
                logger.warning("etcd: the runner lock of '\(listener)' not released (\(error)); it goes with this instance's lease")
            }
        }
    }

    /// What every change this instance writes compares besides `head`: each lock it holds is still the one it took.
    var heldLockCompares: [EtcdGateway.Compare] {
        heldLocks.sorted { $0.key < $1.key }.map { EtcdGateway.Compare(key: runnerKey($0.key), createRevision: $0.value) }
    }

    /// The locks of a whole read of the prefix: those this instance holds and no longer finds are lost.
    func runnersRead(_ keyValues: [EtcdGateway.KeyValue]) {
        runners = [:]
        for keyValue in keyValues {
            let listener = String(keyValue.key.dropFirst(runnersPrefix.count))
            runners[listener] = RunnerLock(json: keyValue)
        }
        heldLocks = Self.locksStillHeld(heldLocks, runners: runners)
        scheduleRunnersCheck()
    }

    /// A lock's key changed (the watch): the view follows, and the plane looks again.
    func runnerLockChanged(_ keyValue: EtcdGateway.KeyValue, deleted: Bool) {
        let listener = String(keyValue.key.dropFirst(runnersPrefix.count))
        runners[listener] = deleted ? nil : RunnerLock(json: keyValue)
        heldLocks = Self.locksStillHeld(heldLocks, runners: runners)
        scheduleRunnersCheck()
    }

    /// The locks of `held` whose key still has the create revision this instance took it at.
    static func locksStillHeld(_ held: [String: Int64], runners: [String: RunnerLock]) -> [String: Int64] {
        held.filter { runners[$0.key]?.createRevision == $0.value }
    }

    /// This instance's lease lapsed (etcd was away longer than its TTL): every lock under it went with it.
    func leaseLapsed() {
        guard !heldLocks.isEmpty else { return }
        logger.warning("etcd: this instance's lease lapsed; the runner locks of \(heldLocks.keys.sorted()) went with it")
        heldLocks = [:]
        scheduleRunnersCheck()
    }

    /// Calls `onRunnersChanged` once on the loop, however many turns asked for it.
    func scheduleRunnersCheck() {
        guard !runnersCheckScheduled, onRunnersChanged != nil else { return }
        runnersCheckScheduled = true
        loop.schedule(after: 0) { [weak self] in
            guard let self else { return }
            runnersCheckScheduled = false
            onRunnersChanged?()
        }
    }

    /// The status's view of the runners: listener → the instance that runs its deployment.
    var runnersJSON: JSONValue {
        .object(runners.mapValues { ["instance": .string($0.instance), "address": .string($0.address)] })
    }
}

/// The holder of a listener's runner lock: the instance (and its admin API's address) and the key's create revision.
public struct RunnerLock: Equatable, Sendable {
    public var instance: String
    public var address: String
    var createRevision: Int64

    var jsonValue: JSONValue { ["instance": .string(instance), "address": .string(address)] }

    init(instance: String, address: String, createRevision: Int64) {
        self.instance = instance
        self.address = address
        self.createRevision = createRevision
    }

    /// The lock a key holds; one whose value does not read is still held, by an instance nobody can name.
    init(json keyValue: EtcdGateway.KeyValue) {
        let json = try? JSONReader.parse(keyValue.value)
        self.init(instance: json?["instance"]?.stringValue ?? "?", address: json?["address"]?.stringValue ?? "?",
                  createRevision: keyValue.createRevision)
    }
}
