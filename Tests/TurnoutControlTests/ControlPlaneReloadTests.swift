import Glibc
import TurnoutCore
import XCTest
@testable import TurnoutControl

/// SIGHUP's reload without a process: what the file changed since it was last read becomes one
/// audited, journalled, published generation; a file that changes nothing makes none; a file that
/// needs a restart, or a change that cannot be saved, is refused whole.
final class ControlPlaneReloadTests: XCTestCase {
    private var harness: ControlPlaneHarness!
    private var stateDir: String { harness.directory.path }

    override func setUpWithError() throws {
        let directory = StateTestDirectory()
        harness = try ControlPlaneHarness(yaml: ControlPlaneHarness.yaml(stateDir: directory.path), directory: directory)
    }

    override func tearDown() { harness.directory.remove() }

    private func reload(_ yaml: String) throws {
        try harness.directory.write(yaml, to: harness.configPath)
        harness.plane.reload(from: harness.configPath, readToken: { _ in nil })
    }

    private func logged(_ prefix: String) -> [String] {
        harness.log.all.map(\.message).filter { $0.hasPrefix(prefix) }
    }

    func testAChangedFileIsOneAuditedGenerationAndRemovedTargetsDrain() throws {
        try reload(ControlPlaneHarness.yaml(stateDir: stateDir, production: "{ green: 100 }", blueTargets: "[127.0.0.1:3000]"))

        XCTAssertEqual(harness.dataPlane.publications.map(\.table.generation), [1, 2])
        let table = try XCTUnwrap(harness.dataPlane.last?.table)
        XCTAssertEqual(ControlPlaneHarness.forward(table, "production"), ["green=100"])
        XCTAssertEqual(ControlPlaneHarness.targets(table, "blue"), ["127.0.0.1:3000"])
        let entry = try XCTUnwrap(harness.auditEntries.last)
        XCTAssertEqual(entry["action"], "reload")
        XCTAssertEqual(entry["caller"], "SIGHUP")
        XCTAssertEqual(entry["request"], ["file": .string(harness.configPath)])
        XCTAssertEqual(entry["diff"]?.objectValue.map { Set($0.keys) }, ["listeners", "target_groups"])
        XCTAssertEqual(harness.states("blue")["127.0.0.1:3001"], "draining")
        XCTAssertEqual(try harness.journalRecords().first?.draining,
                       [PersistedDrain(group: "blue", target: "127.0.0.1:3001", until: 1_795_701_600_000 + 30_000)])
        XCTAssertEqual(logged("reload applied"), [
            "reload applied (listeners.production.forward, target_groups.blue.targets): published routing table generation 2",
        ])
    }

    func testAFileThatChangesNothingMakesNoGenerationAndKeepsAnAPIChange() throws {
        harness.send("POST", "/v1/switch", #"{"to": "green"}"#)
        try reload(ControlPlaneHarness.yaml(stateDir: stateDir))

        XCTAssertEqual(harness.dataPlane.publications.map(\.table.generation), [1, 2])
        XCTAssertEqual(ControlPlaneHarness.forward(harness.dataPlane.last!.table, "production"), ["green=100"],
                       "the file did not change production, so the API's switch stays")
        XCTAssertEqual(try harness.journalRecords().count, 1)
        XCTAssertEqual(logged("reload: nothing to change"), ["reload: nothing to change; routing table generation 2 kept"])
    }

    func testAFileThatNeedsARestartIsRefusedWhole() throws {
        try reload(ControlPlaneHarness.yaml(stateDir: stateDir, production: "{ green: 100 }",
                                            extraListener: "  canary: { bind: 127.0.0.1:8082, forward: { green: 100 } }"))

        XCTAssertEqual(harness.dataPlane.publications.count, 1)
        XCTAssertEqual(harness.generation, 1)
        let refusal = try XCTUnwrap(logged("reload refused").first)
        XCTAssertTrue(refusal.contains("listeners.canary") && refusal.hasSuffix("only at a restart"), refusal)
    }

    func testAReloadThatCannotBeSavedChangesNothingAndTheNextOneApplies() throws {
        let changed = ControlPlaneHarness.yaml(stateDir: stateDir, production: "{ green: 100 }")
        harness.files.inject(.fail(ENOSPC), into: .write)
        try reload(changed)
        XCTAssertEqual(harness.dataPlane.publications.count, 1)
        XCTAssertEqual(logged("reload refused").count, 1)

        harness.plane.reload(from: harness.configPath, readToken: { _ in nil })
        XCTAssertEqual(harness.dataPlane.publications.map(\.table.generation), [1, 2], "the file is compared with what is in force")
        XCTAssertEqual(ControlPlaneHarness.forward(harness.dataPlane.last!.table, "production"), ["green=100"])
    }

    func testPostReloadDoesWhatSIGHUPDoesAndTellsTheSourceAroundIt() throws {
        var heard: [String] = []
        harness.plane.configSource = ConfigSource(path: harness.configPath, readToken: { _ in nil },
                                                  willReload: { heard.append("will") },
                                                  didReload: { heard.append($0.summary) })
        try harness.directory.write(ControlPlaneHarness.yaml(stateDir: stateDir, production: "{ green: 100 }"),
                                    to: harness.configPath)

        let answer = harness.send("POST", "/v1/reload", nil, headers: ["Idempotency-Key": "reload-1"])
        XCTAssertEqual(answer.status, 200)
        XCTAssertEqual(answer.json, ["outcome": "applied", "applied": ["listeners.production.forward"],
                                     "generation": 2, "previous_generation": 1])
        XCTAssertEqual(heard, ["will", "reload applied (listeners.production.forward): published routing table generation 2"])
        let entry = try XCTUnwrap(harness.auditEntries.last)
        XCTAssertEqual(entry["caller"], "127.0.0.1")
        XCTAssertEqual(try harness.journalRecords().last?.idempotency?.key, "reload-1")

        // The same key again is the first answer, replayed; nothing is read or applied.
        let replay = harness.send("POST", "/v1/reload", nil, headers: ["Idempotency-Key": "reload-1"])
        XCTAssertEqual(replay.json, answer.json)
        XCTAssertEqual(replay.header("Idempotent-Replayed"), "true")
        XCTAssertEqual(heard.count, 2)
    }

    func testPostReloadRefusalNamesTheKeys() throws {
        harness.plane.configSource = ConfigSource(path: harness.configPath, readToken: { _ in nil })
        try harness.directory.write(ControlPlaneHarness.yaml(stateDir: stateDir, production: "{ green: 100 }",
                                                             extraListener: "  canary: { bind: 127.0.0.1:8082, forward: { green: 100 } }"),
                                    to: harness.configPath)
        let answer = harness.send("POST", "/v1/reload")
        XCTAssertEqual(answer.status, 422)
        XCTAssertEqual(answer.errorCode, "reload_refused")
        XCTAssertEqual(answer.json["error"]?["keys"], ["listeners.canary"])
        XCTAssertEqual(harness.generation, 1)
    }

    func testPostReloadWithoutAConfigurationFileIsAConflict() {
        XCTAssertEqual(harness.send("POST", "/v1/reload").errorCode, "conflict")
    }
}
