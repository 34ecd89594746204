import Glibc
import TurnoutCore
import XCTest
@testable import TurnoutControl

/// The commit path without a proxy: every acknowledged change is in the journal before it is
/// published, a refused write publishes nothing, a change to where things already are makes no
/// generation, and each change has its generation, audit entry and idempotency record.
final class ControlPlaneCommitTests: XCTestCase {
    private var harness: ControlPlaneHarness!

    override func setUpWithError() throws {
        let directory = StateTestDirectory()
        harness = try ControlPlaneHarness(yaml: ControlPlaneHarness.yaml(stateDir: directory.path), directory: directory)
    }

    override func tearDown() { harness.directory.remove() }

    private var publishedGenerations: [UInt64] { harness.dataPlane.publications.map(\.table.generation) }

    func testStartPublishesTheConfiguredTableWithEveryTargetRoutable() throws {
        XCTAssertEqual(publishedGenerations, [1])
        let published = try XCTUnwrap(harness.dataPlane.last)
        XCTAssertEqual(ControlPlaneHarness.forward(published.table, "production"), ["blue=100"])
        XCTAssertEqual(published.routable, [[true, true], [true]])
        XCTAssertEqual(try harness.journalRecords(), [], "start writes a snapshot, so the journal starts empty")
        XCTAssertTrue(harness.directory.exists(harness.directory.stateFile))
    }

    func testAChangeIsInTheJournalBeforeItIsPublishedAndAudited() throws {
        var journalAtPublish: [[UInt64]] = []
        harness.dataPlane.onPublish = { [harness] _ in
            journalAtPublish.append((try? harness!.journalRecords().map(\.generation)) ?? [])
        }
        let answer = harness.send("POST", "/v1/switch", #"{"to": "green"}"#)

        XCTAssertEqual(answer.status, 200)
        XCTAssertEqual(answer.json, ["generation": 2, "previous_generation": 1, "listeners": ["production": ["green": 100]]])
        XCTAssertEqual(publishedGenerations, [1, 2])
        XCTAssertEqual(journalAtPublish, [[2]], "the record was on disk when the table was published")
        XCTAssertEqual(ControlPlaneHarness.forward(harness.dataPlane.last!.table, "production"), ["green=100"])

        let record = try XCTUnwrap(try harness.journalRecords().first)
        XCTAssertEqual(record.sequence, 1)
        XCTAssertEqual(record.listeners["production"], [PersistedWeight(group: "green", weight: 100)])
        XCTAssertEqual(record.targetGroups["blue"], ["127.0.0.1:3000", "127.0.0.1:3001"])
        let entry = try XCTUnwrap(record.audit)
        XCTAssertEqual(entry, AuditEntry(
            id: 1, time: "2026-11-26T14:00:00.000Z", action: "switch", caller: "127.0.0.1", generationBefore: 1,
            generationAfter: 2, request: ["to": "green"],
            diff: ["listeners": ["production": ["before": ["blue": 100], "after": ["green": 100]]]]))
        XCTAssertNil(record.idempotency)
        XCTAssertEqual(harness.auditEntries, [[
            "id": 1, "time": "2026-11-26T14:00:00.000Z", "action": "switch", "caller": "127.0.0.1",
            "generation_before": 1, "generation_after": 2, "request": entry.request, "diff": entry.diff,
            "report": "/v1/reports/2",
        ]])
        XCTAssertEqual(harness.generation, 2)
    }

    /// Weights are percentages: a forward that does not add up to 100 is a 422 naming the field (in
    /// `PUT /v1/routing`; the body of `PUT /v1/listeners/{name}/forward` is the forward itself) and showing the
    /// split the weights would make; nothing is journalled, published or audited.
    func testWeightsThatDoNotAddUpTo100AreRefusedNamingTheField() throws {
        let refusals: [(path: String, body: String, message: String)] = [
            ("/v1/listeners/production/forward", #"{"green": 10}"#,
             "weights are percentages and must add up to 100, not 10 (in proportion, these would send 100 % to green)"),
            ("/v1/routing", #"{"listeners": {"test": {"blue": 100}, "production": {"green": 1, "blue": 3}}}"#,
             "listeners.production: weights are percentages and must add up to 100, not 4 (in proportion, these would send 75 % to blue and 25 % to green)"),
            ("/v1/routing", #"{"listeners": {"production": {"blue": 90, "green": 101}}}"#,
             "listeners.production.green: weight must be a percentage 0...100, got 101"),
            ("/v1/listeners/production/forward", #"{"blue": 0, "green": 0}"#,
             "weights are percentages and must add up to 100, not 0"),
            ("/v1/listeners/production/forward", #"{"purple": 100}"#, "purple: unknown target group 'purple'"),
        ]
        for (path, body, message) in refusals {
            let answer = harness.send("PUT", path, body)
            XCTAssertEqual(answer.status, 422, body)
            XCTAssertEqual(answer.json, ["error": ["code": "invalid", "message": .string(message)]], body)
        }
        XCTAssertEqual(publishedGenerations, [1])
        XCTAssertEqual(try harness.journalRecords(), [])
        XCTAssertEqual(harness.auditEntries, [])

        let zero = harness.send("PUT", "/v1/listeners/production/forward", #"{"blue": 100, "green": 0}"#)
        XCTAssertEqual(zero.status, 200, "a group at 0 stays listed")
        XCTAssertEqual(ControlPlaneHarness.forward(harness.dataPlane.last!.table, "production"), ["blue=100", "green=0"])
    }

    func testARefusedWritePublishesNothingAndChangesNothing() throws {
        harness.files.inject(.fail(ENOSPC), into: .write)
        let refused = harness.send("POST", "/v1/switch", #"{"to": "green"}"#)

        XCTAssertEqual(refused.status, 503)
        XCTAssertEqual(refused.errorCode, "state_not_saved")
        XCTAssertEqual(publishedGenerations, [1])
        XCTAssertEqual(harness.generation, 1)
        XCTAssertEqual(harness.auditEntries, [])
        XCTAssertEqual(try harness.journalRecords(), [])
        XCTAssertEqual(harness.send("GET", "/v1/status").json["state_store"]?["sound"], true)

        let accepted = harness.send("POST", "/v1/switch", #"{"to": "green"}"#)
        XCTAssertEqual(accepted.json["generation"], 2, "the refused change used no generation")
        XCTAssertEqual(publishedGenerations, [1, 2])
        XCTAssertEqual(harness.auditEntries.map { $0["id"] }, [1])
    }

    func testAJournalThatCannotBeCutBackRefusesChangesUntilARetryOnTheClockRepairsIt() throws {
        harness.files.inject(.fail(EIO), into: .fdatasync)
        harness.files.injectAlways(.fail(EIO), into: .ftruncate)

        let first = harness.send("POST", "/v1/switch", #"{"to": "green"}"#)
        XCTAssertEqual(first.status, 503)
        XCTAssertEqual(first.errorCode, "state_not_saved")
        let second = harness.send("PUT", "/v1/listeners/test/forward", #"{"blue": 100}"#)
        XCTAssertEqual(second.status, 503)
        XCTAssertEqual(second.errorCode, "state_unsound")
        XCTAssertEqual(harness.send("GET", "/healthz").status, 503)
        XCTAssertEqual(harness.send("GET", "/v1/status").json["state_store"]?["sound"], false)
        XCTAssertEqual(publishedGenerations, [1])

        harness.clock.advance(milliseconds: 1_000)
        XCTAssertEqual(harness.send("GET", "/healthz").status, 503, "the retry failed: the disk is still failing")
        harness.files.heal()
        harness.clock.advance(milliseconds: 1_000)
        XCTAssertEqual(harness.send("GET", "/healthz").status, 200)
        XCTAssertEqual(harness.send("POST", "/v1/switch", #"{"to": "green"}"#).json["generation"], 2)
        XCTAssertEqual(publishedGenerations, [1, 2])
        XCTAssertEqual(try harness.journalRecords().map(\.generation), [2])
    }

    func testAnIdempotentRetryGetsTheFirstAnswerAndPublishesNothing() throws {
        let key = ["Idempotency-Key": "deploy-1"]
        let first = harness.send("POST", "/v1/switch", #"{"to": "green"}"#, headers: key)
        let again = harness.send("POST", "/v1/switch", #"{"to": "green"}"#, headers: key)

        XCTAssertEqual(first.status, 200)
        XCTAssertNil(first.header("Idempotent-Replayed"))
        XCTAssertEqual(again.json, first.json)
        XCTAssertEqual(again.header("Idempotent-Replayed"), "true")
        XCTAssertEqual(publishedGenerations, [1, 2])
        let records = try harness.journalRecords()
        XCTAssertEqual(records.count, 1)
        XCTAssertEqual(records.first?.idempotency, IdempotencyRecord(
            key: "deploy-1", method: "POST", path: "/v1/switch",
            requestHash: IdempotencyCache.requestHash(body: Array(#"{"to": "green"}"#.utf8)), status: 200,
            body: first.json.jsonText + "\n", time: "2026-11-26T14:00:00.000Z"))

        let reused = harness.send("POST", "/v1/switch", #"{"to": "blue"}"#, headers: key)
        XCTAssertEqual(reused.status, 422)
        XCTAssertEqual(reused.errorCode, "idempotency_key_reused")
        XCTAssertEqual(publishedGenerations, [1, 2])
    }

    func testAChangeToWhereThingsAlreadyAreMakesNoGeneration() throws {
        let switched = harness.send("POST", "/v1/switch", #"{"to": "blue"}"#, headers: ["Idempotency-Key": "same"])
        XCTAssertEqual(switched.json, ["generation": 1, "previous_generation": 1, "listeners": ["production": ["blue": 100]],
                                       "unchanged": true])
        let targets = harness.send("PUT", "/v1/target-groups/blue/targets", #"{"targets": ["127.0.0.1:3000", "127.0.0.1:3001"]}"#)
        XCTAssertEqual(targets.json["unchanged"], true)
        XCTAssertEqual(targets.json["generation"], 1)
        let dryRun = harness.send("POST", "/v1/switch?dry_run=true", #"{"to": "green"}"#)
        XCTAssertEqual(dryRun.json, ["dry_run": true, "generation": 1, "listeners": ["production": ["green": 100]]])

        XCTAssertEqual(publishedGenerations, [1])
        XCTAssertEqual(try harness.journalRecords(), [])
        XCTAssertEqual(harness.auditEntries, [])
        let stillValid = harness.send("POST", "/v1/switch", #"{"to": "green"}"#, headers: ["If-Match": "\"1\""])
        XCTAssertEqual(stillValid.json["generation"], 2, "If-Match of generation 1 stays valid")
    }

    func testAStaleIfMatchIsRefusedAndPublishesNothing() {
        let stale = harness.send("POST", "/v1/switch", #"{"to": "green"}"#, headers: ["If-Match": "7"])
        XCTAssertEqual(stale.status, 409)
        XCTAssertEqual(stale.errorCode, "stale_generation")
        XCTAssertEqual(publishedGenerations, [1])
    }

    func testSeveralListenersChangeInOneGeneration() throws {
        let answer = harness.send("POST", "/v1/switch", #"{"to": "green", "swap_test": true}"#)
        XCTAssertEqual(answer.json["generation"], 2)
        let table = try XCTUnwrap(harness.dataPlane.last?.table)
        XCTAssertEqual(ControlPlaneHarness.forward(table, "production"), ["green=100"])
        XCTAssertEqual(ControlPlaneHarness.forward(table, "test"), ["blue=100"])
        XCTAssertEqual(publishedGenerations, [1, 2])
        XCTAssertEqual(try harness.journalRecords().count, 1)
    }
}
