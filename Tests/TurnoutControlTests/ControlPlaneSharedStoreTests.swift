import TurnoutCore
import XCTest
@testable import TurnoutControl

/// The commit path over a shared store, through the `RoutingStateStore` seam with a scripted store in etcd's place: a
/// lost compare is 409 and an unreachable store 503 naming it, neither publishing anything; a change made through
/// another instance is adopted with its generation and audit entry; a drain's end is not written to a shared store.
final class ControlPlaneSharedStoreTests: XCTestCase {
    private var harness: ControlPlaneHarness!
    private let store = ScriptedSharedStore()

    override func setUpWithError() throws {
        let directory = StateTestDirectory()
        harness = try ControlPlaneHarness(yaml: ControlPlaneHarness.yaml(stateDir: directory.path), directory: directory,
                                          store: { [store] _ in store })
    }

    override func tearDown() { harness.directory.remove() }

    private var publishedGenerations: [UInt64] { harness.dataPlane.publications.map(\.table.generation) }

    func testAnAcceptedChangeIsAppendedOnceAndPublished() {
        let accepted = harness.send("POST", "/v1/switch", #"{"to": "green"}"#)
        XCTAssertEqual(accepted.status, 200)
        XCTAssertEqual(store.appended.map(\.sequence), [1])
        XCTAssertEqual(store.appended.first?.generation, 2)
        XCTAssertEqual(store.appended.first?.audit?.action, "switch")
        XCTAssertEqual(publishedGenerations.last, 2)
    }

    func testALostCompareIsAStaleGenerationAndPublishesNothing() {
        store.failure = .conflict("the shared state changed through another instance")
        let refused = harness.send("POST", "/v1/switch", #"{"to": "green"}"#)
        XCTAssertEqual(refused.status, 409)
        XCTAssertEqual(refused.errorCode, "stale_generation")
        XCTAssertEqual(publishedGenerations, [1])
        XCTAssertEqual(harness.generation, 1)
        XCTAssertEqual(harness.auditEntries, [])
    }

    func testAnUnreachableStoreRefusesChangesNamingItAndShowsInHealthAndStatus() {
        store.failure = .unavailable(store: "etcd", reason: "connection refused")
        store.problem = "connection refused"
        let refused = harness.send("POST", "/v1/switch", #"{"to": "green"}"#)
        XCTAssertEqual(refused.status, 503)
        XCTAssertEqual(refused.errorCode, "state_store_unavailable")
        XCTAssertTrue(refused.json["error"]?["message"]?.stringValue?.hasPrefix("etcd cannot be reached") == true, "\(refused.json)")
        XCTAssertEqual(publishedGenerations, [1])

        let health = harness.send("GET", "/healthz")
        XCTAssertEqual(health.status, 503)
        XCTAssertEqual(health.errorCode, "state_store_unavailable")
        let state = harness.send("GET", "/v1/status").json["state_store"]
        XCTAssertEqual(state?["store"], "scripted")
        XCTAssertEqual(state?["sound"], false)
        XCTAssertEqual(state?["problem"], "connection refused")

        store.failure = nil
        store.problem = nil
        XCTAssertEqual(harness.send("GET", "/healthz").status, 200)
        XCTAssertEqual(harness.send("POST", "/v1/switch", #"{"to": "green"}"#).status, 200)
    }

    func testAChangeMadeThroughAnotherInstanceIsAdoptedWithItsAuditEntry() throws {
        let other = try otherInstanceRecord(sequence: 1, generation: 2, production: "green")
        harness.plane.adoptShared(.record(other))
        XCTAssertEqual(publishedGenerations.last, 2)
        XCTAssertEqual(harness.generation, 2)
        let production = harness.send("GET", "/v1/status").json["listeners"]?.arrayValue?.first { $0["name"] == "production" }
        XCTAssertEqual(production?["forward"], ["green": 100])
        XCTAssertEqual(harness.auditEntries.map { $0["caller"] }, ["10.0.0.2"])
        XCTAssertEqual(store.appended, [], "adopting writes nothing back")

        // The same record again (this instance's own, or read twice) changes nothing.
        let publications = harness.dataPlane.publications.count
        harness.plane.adoptShared(.record(other))
        XCTAssertEqual(harness.dataPlane.publications.count, publications)

        // The next change through this instance follows the adopted one's sequence and generation.
        XCTAssertEqual(harness.send("POST", "/v1/switch", #"{"to": "blue"}"#).status, 200)
        XCTAssertEqual(store.appended.map(\.sequence), [2])
        XCTAssertEqual(store.appended.map(\.generation), [3])
    }

    func testAWholeStateReadAgainReplacesTheAuditLog() throws {
        var state = PersistedState(generation: 5, listeners: ["production": [PersistedWeight(group: "green", weight: 100)]])
        state.audit = [try otherInstanceRecord(sequence: 4, generation: 5, production: "green").audit!]
        state.journalSequence = 4
        harness.plane.adoptShared(.state(state))
        XCTAssertEqual(harness.generation, 5)
        XCTAssertEqual(harness.auditEntries.count, 1)
    }

    func testADrainsEndIsNotWrittenToASharedStore() {
        XCTAssertEqual(harness.send("DELETE", "/v1/target-groups/blue/targets/127.0.0.1:3001").status, 200)
        XCTAssertEqual(store.appended.map(\.draining.count), [1])
        harness.clock.advance(milliseconds: 30_000)
        XCTAssertEqual(harness.states("blue")["127.0.0.1:3001"], nil, "the drain ended here")
        XCTAssertEqual(store.appended.count, 1, "every instance ends it at the deadline the record holds")
    }

    /// A record as another instance's switch to `production` writes it.
    private func otherInstanceRecord(sequence: UInt64, generation: UInt64, production: String) throws -> JournalRecord {
        let audit = AuditLog().entry(action: "switch", caller: "10.0.0.2", generationBefore: generation - 1,
                                     generationAfter: generation, request: ["to": .string(production)], diff: [:],
                                     millisecondsSinceEpoch: 1_700_000_000_000)
        return JournalRecord(sequence: sequence, generation: generation,
                             listeners: ["production": [PersistedWeight(group: production, weight: 100)],
                                         "test": [PersistedWeight(group: "green", weight: 100)]],
                             targetGroups: ["blue": ["127.0.0.1:3000", "127.0.0.1:3001"], "green": ["127.0.0.1:3002"]],
                             draining: [], audit: audit, idempotency: nil)
    }
}

/// A shared store whose next append fails as scripted; keeps what it accepted. Its runner locks are what the test
/// sets: `locks` is every holder, `heldLocks` those of this instance.
final class ScriptedSharedStore: RoutingStateStore, RunnerLocking {
    var failure: StateStoreError?
    var problem: String?
    private(set) var appended: [JournalRecord] = []
    var locks: [String: RunnerLock] = [:]
    var heldLocks: [String: Int64] = [:]
    private var nextLockRevision: Int64 = 100
    var canTakeLocks: Bool { problem == nil }

    func runner(of listener: String) -> RunnerLock? { locks[listener] }

    func takeRunnerLock(listener: String) throws(StateStoreError) -> Bool {
        if heldLocks[listener] != nil { return true }
        if let problem { throw .unavailable(store: name, reason: problem) }
        guard locks[listener] == nil else { return false }
        nextLockRevision += 1
        locks[listener] = RunnerLock(instance: "self", address: "127.0.0.1:9901", createRevision: nextLockRevision)
        heldLocks[listener] = nextLockRevision
        return true
    }

    func releaseRunnerLock(listener: String) {
        guard heldLocks.removeValue(forKey: listener) != nil else { return }
        locks[listener] = nil
    }

    var name: String { "etcd" }
    var isShared: Bool { true }
    var wantsCompaction: Bool { false }
    var canRepair: Bool { false }
    var statusMembers: [String: JSONValue] { ["store": "scripted"] }

    func append(_ record: JournalRecord) throws(StateStoreError) {
        if let failure { throw failure }
        appended.append(record)
    }

    func compact(_ state: PersistedState) throws(StateStoreError) {}
    func repair() -> Bool { problem == nil }
}
