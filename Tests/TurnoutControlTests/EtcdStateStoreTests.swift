import Logging
import XCTest
@testable import TurnoutControl

/// What a read of the fleet's prefix makes, without etcd: the records under `journal/` folded oldest first (the
/// audit log and the idempotency records rebuilt from them), the head's mod revision, registrations and strays left
/// out, a record that does not decode skipped.
final class EtcdStateStoreTests: XCTestCase {
    private let journal = "/t/journal/"

    private func record(_ sequence: UInt64, generation: UInt64, to group: String) -> EtcdGateway.KeyValue {
        let audit = AuditLog().entry(action: "switch", caller: "10.0.0.\(sequence)", generationBefore: generation - 1,
                                     generationAfter: generation, request: ["to": .string(group)], diff: [:],
                                     millisecondsSinceEpoch: 1_700_000_000_000 + sequence)
        let record = JournalRecord(sequence: sequence, generation: generation,
                                   listeners: ["production": [PersistedWeight(group: group, weight: 100)]],
                                   targetGroups: [:], draining: [], audit: audit, idempotency: nil)
        let digits = String(sequence)
        return EtcdGateway.KeyValue(key: journal + String(repeating: "0", count: 20 - digits.count) + digits,
                                    value: record.jsonValue.jsonBytes, createRevision: Int64(sequence) + 10,
                                    modRevision: Int64(sequence) + 10)
    }

    func testTheRecordsFoldIntoTheStateTheLastOneLeft() {
        let keyValues = [
            EtcdGateway.KeyValue(key: "/t/head", value: Array("3".utf8), createRevision: 11, modRevision: 13),
            EtcdGateway.KeyValue(key: "/t/instances/web-1:9901", value: Array("{}".utf8), createRevision: 9, modRevision: 14),
            record(2, generation: 3, to: "green"),
            record(3, generation: 4, to: "blue"),
        ]
        let read = EtcdStateStore.state(of: keyValues, journalPrefix: journal, headKey: "/t/head", logger: CapturedLog().logger)
        XCTAssertEqual(read.headRevision, 13)
        XCTAssertEqual(read.state?.generation, 4)
        XCTAssertEqual(read.state?.journalSequence, 3)
        XCTAssertEqual(read.state?.listeners, ["production": [PersistedWeight(group: "blue", weight: 100)]])
        XCTAssertEqual(read.state?.audit.map(\.caller), ["10.0.0.2", "10.0.0.3"], "the audit log is rebuilt, oldest first")
    }

    func testAnEmptyPrefixIsNoStateAndARecordThatDoesNotDecodeIsSkipped() {
        let empty = EtcdStateStore.state(of: [], journalPrefix: journal, headKey: "/t/head", logger: CapturedLog().logger)
        XCTAssertNil(empty.state)
        XCTAssertEqual(empty.headRevision, 0, "the first change compares against an absent head")

        var broken = record(2, generation: 3, to: "green")
        broken.value = Array("{\"sequence\":".utf8)
        let log = CapturedLog()
        let read = EtcdStateStore.state(of: [record(1, generation: 2, to: "green"), broken], journalPrefix: journal,
                                        headKey: "/t/head", logger: log.logger)
        XCTAssertEqual(read.state?.journalSequence, 1)
        XCTAssertEqual(read.state?.generation, 2)
        XCTAssertEqual(log.all, [CapturedLog.Record(level: .error, message: "etcd: \(broken.key) does not hold a journal record; skipped")])
    }

    func testTheTargetsTheInstancesSeeDifferentlyAreListedWithEveryInstancesView() {
        let views: [String: [String: [String: String]]] = [
            "web-1:9901": ["blue": ["10.0.0.1:80": "healthy", "10.0.0.2:80": "healthy"], "green": ["10.0.0.3:80": "initial"]],
            "web-2:9901": ["blue": ["10.0.0.1:80": "unhealthy", "10.0.0.2:80": "healthy"], "green": ["10.0.0.3:80": "initial"]],
            // Probes no 10.0.0.2 (not registered there yet): it counts for the targets it sees only.
            "web-3:9901": ["blue": ["10.0.0.1:80": "healthy"], "green": ["10.0.0.3:80": "unhealthy"]],
        ]
        XCTAssertEqual(FleetHealthDisagreement.find(in: views), [
            FleetHealthDisagreement(group: "blue", target: "10.0.0.1:80",
                                    views: ["web-1:9901": "healthy", "web-2:9901": "unhealthy", "web-3:9901": "healthy"]),
            FleetHealthDisagreement(group: "green", target: "10.0.0.3:80",
                                    views: ["web-1:9901": "initial", "web-2:9901": "initial", "web-3:9901": "unhealthy"]),
        ])
        XCTAssertEqual(FleetHealthDisagreement.find(in: ["web-1:9901": views["web-1:9901"]!]), [], "one instance agrees with itself")
        XCTAssertEqual(FleetHealthDisagreement.find(in: [:]), [])
    }

    func testALockIsStillHeldOnlyWhileItsKeyHasTheRevisionItWasTakenAt() {
        let runners = [
            "production": RunnerLock(instance: "web-1:9901", address: "10.0.0.1:9901", createRevision: 20),
            "api": RunnerLock(instance: "web-2:9901", address: "10.0.0.2:9901", createRevision: 31),
        ]
        // production: still the key this instance created; api: taken again by another after this one's lapsed;
        // admin: gone.
        XCTAssertEqual(EtcdStateStore.locksStillHeld(["production": 20, "api": 25, "admin": 12], runners: runners),
                       ["production": 20])
    }

    func testALocksKeyNamesItsHolderOrAnUnnamedOne() {
        let lock = RunnerLock(json: EtcdGateway.KeyValue(
            key: "/t/runners/production", value: Array(#"{"instance":"web-1:9901","address":"10.0.0.1:9901"}"#.utf8),
            createRevision: 20, modRevision: 20))
        XCTAssertEqual(lock, RunnerLock(instance: "web-1:9901", address: "10.0.0.1:9901", createRevision: 20))
        let unreadable = RunnerLock(json: EtcdGateway.KeyValue(key: "/t/runners/api", value: Array("x".utf8),
                                                               createRevision: 5, modRevision: 5))
        XCTAssertEqual(unreadable.instance, "?")
        XCTAssertEqual(unreadable.createRevision, 5)
    }
}
