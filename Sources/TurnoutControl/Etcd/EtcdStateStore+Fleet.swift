import TurnoutCore

/// The fleet's instances: each registers `<prefix>/instances/<instance>` under a lease of its own, with the etcd
/// revision its state is based on, and puts it again whenever it applies a change and every `heartbeatInterval`.
/// Every instance sees the others' registrations through its watch of the prefix; an instance that dies stops
/// renewing its lease and its key goes with it within `leaseSeconds`. A change asked with `?wait=fleet` is
/// answered once every registered instance has applied its revision (`whenFleetApplied`).
extension EtcdStateStore {
    /// How long a registration outlives its instance's last keep-alive.
    static let leaseSeconds = 5
    /// How often an instance renews its lease and its registration.
    static let heartbeatInterval: UInt64 = 1_000_000_000

    var instancesPrefix: String { prefix + "/instances/" }

    /// Registers this instance as `instance`, whose admin API answers at `address`, and keeps it registered.
    public func register(instance: String, address: String) {
        registration = FleetMember(instance: instance, address: address, appliedRevision: appliedRevision, lastSeen: 0)
        heartbeat()
    }

    /// Renews the lease (granting one first if there is none, or it lapsed) and puts the registration, then again
    /// after `heartbeatInterval`. Failures wait for the next turn: the registration is not on any change's path.
    private func heartbeat() {
        loop.schedule(after: Self.heartbeatInterval) { [weak self] in self?.heartbeat() }
        guard problem == nil else { return }
        guard let lease else {
            client.send("/v3/lease/grant", ["TTL": .string(String(Self.leaseSeconds))], on: loop) { [weak self] answer in
                guard let self, case .success(let granted) = answer, let id = granted["ID"]?.stringValue.flatMap(Int64.init) else { return }
                lease = id
                announce()
                scheduleRunnersCheck()
            }
            return
        }
        client.send("/v3/lease/keepalive", ["ID": .string(String(lease))], on: loop) { [weak self] answer in
            guard let self, case .success(let kept) = answer else { return }
            // A lease that lapsed (etcd was away longer than its TTL) answers without a TTL: grant a new one.
            let ttl = (kept["result"] ?? kept)["TTL"]?.stringValue.flatMap(Int64.init) ?? 0
            if ttl <= 0, self.lease == lease {
                self.lease = nil
                leaseLapsed()
            }
        }
        announce()
        scheduleRunnersCheck()
    }

    /// Puts this instance's registration with the revision it has applied now.
    func announce() {
        guard var member = registration, let lease, problem == nil else { return }
        member.appliedRevision = appliedRevision
        member.lastSeen = loop.wallMilliseconds
        registration = member
        let put: JSONValue = ["key": .string(EtcdGateway.base64(instancesPrefix + member.instance)),
                              "value": .string(EtcdGateway.base64(withHealthView(member.jsonValue).jsonBytes)),
                              "lease": .string(String(lease))]
        client.send("/v3/kv/put", put, on: loop) { _ in }
    }

    /// A registration's key changed (from the range read or the watch): the fleet's view follows, and waiters whose
    /// revision every instance has now applied are answered.
    func registrationChanged(_ keyValue: EtcdGateway.KeyValue, deleted: Bool) {
        let instance = String(keyValue.key.dropFirst(instancesPrefix.count))
        if deleted {
            members[instance] = nil
        } else if let json = try? JSONReader.parse(keyValue.value), let member = FleetMember(json: json) {
            members[instance] = member
        }
        noteHealthView(of: instance, in: deleted ? nil : (try? JSONReader.parse(keyValue.value)))
        answerWaiters()
    }

    /// Calls `completion` once every registered instance has applied `revision`, or at `timeout` with those behind.
    func whenFleetApplied(revision: Int64, timeout: UInt64, completion: @escaping (FleetWait) -> Void) {
        let id = nextWaiter
        nextWaiter += 1
        let started = loop.monotonicNanoseconds
        let timer = loop.schedule(after: timeout) { [weak self] in
            guard let self, let waiter = waiters.removeValue(forKey: id) else { return }
            waiter.completion(fleetWait(revision: revision, since: started))
        }
        waiters[id] = FleetWaiter(revision: revision, started: started, timer: timer, completion: completion)
        answerWaiters()
    }

    private func answerWaiters() {
        for (id, waiter) in waiters.sorted(by: { $0.key < $1.key }) {
            let wait = fleetWait(revision: waiter.revision, since: waiter.started)
            guard wait.applied else { continue }
            waiters[id] = nil
            loop.cancel(waiter.timer)
            waiter.completion(wait)
        }
    }

    private func fleetWait(revision: Int64, since started: UInt64) -> FleetWait {
        let behind = members.values.filter { $0.appliedRevision < revision }.map(\.instance).sorted()
        // This instance counts even before its first registration is seen: it applied the change itself.
        return FleetWait(revision: revision, behind: behind, instances: members.count,
                         waitedMilliseconds: (loop.monotonicNanoseconds - started) / 1_000_000)
    }

    /// The status's view of the fleet: every registered instance, this one marked.
    var fleetJSON: JSONValue {
        .array(members.values.sorted { $0.instance < $1.instance }.map { member in
            var json = member.jsonValue
            if case .object(var members) = json {
                members["self"] = .bool(member.instance == registration?.instance)
                members["last_seen"] = .string(AuditTimestamp.iso8601(milliseconds: member.lastSeen))
                json = .object(members)
            }
            return json
        })
    }
}

/// One instance's registration: who it is, where its admin API answers, the etcd revision its state is based on,
/// and when it last said so (wall-clock milliseconds).
struct FleetMember: Equatable, Sendable {
    var instance: String
    var address: String
    var appliedRevision: Int64
    var lastSeen: UInt64

    var jsonValue: JSONValue {
        ["instance": .string(instance), "address": .string(address), "applied_revision": .int(appliedRevision),
         "last_seen_ms": .int(Int64(clamping: lastSeen))]
    }

    init(instance: String, address: String, appliedRevision: Int64, lastSeen: UInt64) {
        self.instance = instance
        self.address = address
        self.appliedRevision = appliedRevision
        self.lastSeen = lastSeen
    }

    init?(json: JSONValue) {
        guard let instance = json["instance"]?.stringValue, let address = json["address"]?.stringValue,
              let revision = json["applied_revision"]?.intValue, let lastSeen = json["last_seen_ms"]?.intValue else { return nil }
        self.init(instance: instance, address: address, appliedRevision: revision, lastSeen: UInt64(clamping: lastSeen))
    }
}

/// How a `?wait=fleet` ended: every registered instance applied `revision` (`behind` empty), or the timeout came.
struct FleetWait: Equatable, Sendable {
    var revision: Int64
    var behind: [String]
    var instances: Int
    var waitedMilliseconds: UInt64

    var applied: Bool { behind.isEmpty }

    var jsonValue: JSONValue {
        ["applied": .bool(applied), "revision": .int(revision), "instances": .int(Int64(instances)),
         "behind": .array(behind.map(JSONValue.string)), "waited_ms": .int(Int64(clamping: waitedMilliseconds))]
    }
}

struct FleetWaiter {
    var revision: Int64
    var started: UInt64
    var timer: TimerID
    var completion: (FleetWait) -> Void
}
