import Foundation
import TurnoutCore
import TurnoutMetrics
@testable import TurnoutControl

/// A control plane started as `serve` starts it (the saved state recovered and applied over the
/// configuration file, the journal opened, `start()`), on a temporary state directory whose files
/// go through a `FaultyFileSystem`, publishing to a `RecordingDataPlane`, on a `ManualClock`, its
/// probes answered by a `ScriptedProber` and its lookups by a `ScriptedResolver`. No socket, no
/// thread, no sleep.
final class ControlPlaneHarness {
    let directory: StateTestDirectory
    let clock: ManualClock
    let files = FaultyFileSystem()
    let prober = ScriptedProber()
    let resolver = ScriptedResolver()
    let dataPlane = RecordingDataPlane()
    let log = CapturedLog()
    let recovered: StateRecovery.Outcome
    let plane: ControlPlane

    /// Starts on `directory` with the configuration file `yaml` (see `Self.yaml`), written there as `turnout.yaml`.
    /// `token`: the admin token the plane requires (none by default). `store` makes the plane's store from the local
    /// one (a test's own double in its place).
    init(yaml: String, directory: StateTestDirectory = StateTestDirectory(), clock: ManualClock = ManualClock(),
         token: String? = nil, store makeStore: (LocalStateDirectory) -> any RoutingStateStore = { $0 }) throws {
        self.directory = directory
        self.clock = clock
        try directory.write(yaml, to: directory.path + "/turnout.yaml")
        let config = try ConfigLoader.load(path: directory.path + "/turnout.yaml")
        let logger = log.logger
        let store = StateStore(directory: config.stateDir, files: files, logger: logger)
        let journal = StateJournal(directory: config.stateDir, files: files, logger: logger)
        let recovered = StateRecovery.recover(store: store, journal: journal, logger: logger)
        self.recovered = recovered
        let table = recovered.state.map { StateRestore.apply($0, over: config, logger: logger) }
            ?? RoutingTable(config: config, generation: 1)
        try journal.open()
        plane = ControlPlane(config: config, table: table, recovered: recovered, dataPlane: dataPlane, clock: clock,
                             prober: prober, resolver: resolver, store: makeStore(LocalStateDirectory(snapshot: store, journal: journal)),
                             metrics: MetricsRegistry(), token: token,
                             logger: logger, healthLogger: log.logger)
        plane.start()
    }

    /// A new process on the same state directory, with the configuration file `yaml`: its clock goes
    /// on from this one's wall time; this one's timers never run again.
    func restarted(yaml: String) throws -> ControlPlaneHarness {
        try ControlPlaneHarness(yaml: yaml, directory: directory, clock: ManualClock(wallMilliseconds: clock.wallMilliseconds))
    }

    var configPath: String { directory.path + "/turnout.yaml" }

    /// A configuration file: listeners `production` (blue 100) and `test` (green 100); groups `blue`
    /// (127.0.0.1:3000 and :3001) and `green` (127.0.0.1:3002) with a 30 s deregistration delay,
    /// each with `check` as its health check and `extra` lines added to the group.
    static func yaml(stateDir: String, production: String = "{ blue: 100 }", test: String = "{ green: 100 }",
                     blueTargets: String = "[127.0.0.1:3000, 127.0.0.1:3001]", greenTargets: String = "[127.0.0.1:3002]",
                     check: String = "{ enabled: false }", blueExtra: String = "", extraListener: String = "") -> String {
        """
        state_dir: \(stateDir)
        listeners:
          production: { bind: 127.0.0.1:8080, forward: \(production) }
          test: { bind: 127.0.0.1:8081, forward: \(test) }
        \(extraListener)
        target_groups:
          blue:
            targets: \(blueTargets)
            deregistration_delay: 30s
            health_check: \(check)
        \(blueExtra)
          green:
            targets: \(greenTargets)
            deregistration_delay: 30s
            health_check: \(check)
        """
    }

    // MARK: - Requests

    /// What the admin API answered: status, headers, and the body read back as JSON.
    struct Answer {
        let status: Int
        let headers: [(String, String)]
        let json: JSONValue

        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }

        /// `error.code` of an error answer.
        var errorCode: String? { json["error"]?["code"]?.stringValue }
    }

    /// Sends `method path` (with its query) from 127.0.0.1, with `body` declared as JSON.
    @discardableResult
    func send(_ method: String, _ path: String, _ body: String? = nil, headers: [String: String] = [:]) -> Answer {
        let parts = path.split(separator: "?", maxSplits: 1)
        var query: [String: String] = [:]
        for pair in parts.count > 1 ? parts[1].split(separator: "&") : [] {
            let item = pair.split(separator: "=", maxSplits: 1)
            query[String(item[0])] = item.count > 1 ? String(item[1]) : ""
        }
        var fields = ["host": "127.0.0.1:9901"]
        if body != nil { fields["content-type"] = "application/json" }
        for (name, value) in headers { fields[name.lowercased()] = value }
        let response = plane.handle(AdminRequest(method: method, path: String(parts[0]), query: query, headers: fields,
                                                 body: Array((body ?? "").utf8), peer: "127.0.0.1"))
        let json = (try? JSONReader.parse(response.body)) ?? .null
        return Answer(status: response.status, headers: response.headers, json: json)
    }

    /// `GET /v1/target-groups/{group}/targets`: target → its JSON.
    func targets(_ group: String) -> [String: JSONValue] {
        var byTarget: [String: JSONValue] = [:]
        for target in send("GET", "/v1/target-groups/\(group)/targets").json["targets"]?.arrayValue ?? [] {
            byTarget[target["target"]?.stringValue ?? "?"] = target
        }
        return byTarget
    }

    /// `state` of every target of `group`, by target.
    func states(_ group: String) -> [String: String] {
        targets(group).mapValues { $0["state"]?.stringValue ?? "?" }
    }

    var generation: Int64? { send("GET", "/v1/status").json["generation"]?.intValue }

    var auditEntries: [JSONValue] { send("GET", "/v1/audit").json["entries"]?.arrayValue ?? [] }

    // MARK: - What is on disk and what was published

    var journalPath: String { directory.path + "/journal.log" }

    /// The records in the journal file now, read as recovery reads them.
    func journalRecords() throws -> [JournalRecord] {
        try fileBytes(journalPath).split(separator: 0x0A).map { line in
            try JournalRecord(json: JSONReader.parse(Array(line.dropFirst(9))))
        }
    }

    /// The forward of `listener` in `table` as `group=weight` words.
    static func forward(_ table: RoutingTable, _ listener: String) -> [String] {
        table.forward(ofListener: table.listenerIndex(named: listener)!).map { "\($0.group)=\($0.weight)" }
    }

    /// The targets of `group` in `table`.
    static func targets(_ table: RoutingTable, _ group: String) -> [String] {
        table.groups[table.groupIndex(named: group)!].targets.map(\.description)
    }
}
