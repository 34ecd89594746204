import TurnoutCore
import TurnoutMetrics

/// A deployment in the state files: written with every journal record (so it is as durable as the routing it
/// moves) and read back at start, the spec checked again against the routing restored.
extension DeploymentState {
    /// Everything needed to go on after a restart; times are wall-clock milliseconds.
    var persisted: JSONValue {
        func ms(_ value: UInt64?) -> JSONValue { value.map { .int(Int64(clamping: $0)) } ?? .null }
        return [
            "id": .string(id), "spec": source, "live_group": .string(liveGroup), "created": ms(created),
            "cursor": .int(Int64(cursor)), "status": .string(status.rawValue), "reason": .string(reason),
            "phases": .array(phases.map { record in
                [
                    "phase": .string(record.phase.rawValue), "started": ms(record.started), "ended": ms(record.ended),
                    "outcome": .string(record.outcome.rawValue), "detail": record.detail.map(JSONValue.string) ?? .null,
                    "output_tail": record.outputTail.map(JSONValue.string) ?? .null,
                ]
            }),
            "steps": .array(steps.map { step in
                ["index": .int(Int64(step.index)), "weight": .int(Int64(step.weight)), "routed": ms(step.routed),
                 "generation": ms(step.generation)]
            }),
            "replacement_weight": .int(Int64(replacementWeight)), "test_on_replacement": .bool(testOnReplacement),
            "deadline": ms(deadline), "frozen_remaining": ms(frozenRemaining), "held": .bool(held),
            "promoted": .bool(promoted),
            "alarms": .array(alarms.map { ["alarm": .string($0.alarm.rawValue), "value": .double($0.value),
                                           "threshold": .double($0.threshold)] }),
            "generations": .array(generations.map { .int(Int64(clamping: $0)) }),
            "registered": .array(registered.map { .string($0.description) }),
            "routing": routing.map { change in
                [
                    "replacement_weight": change.replacementWeight.map { .int(Int64($0)) } ?? .null,
                    "test": change.test.map { .string($0.rawValue) } ?? .null,
                    "register": .array(change.register.map { .string($0.description) }),
                    "deregister": .array(change.deregister.map { .string($0.description) }),
                ]
            } ?? .null,
            "readiness_seen": readinessSeen.map { [.int(Int64($0.healthy)), .int(Int64($0.total))] } ?? .null,
            "updated": ms(updated), "ended": ms(ended),
            "restarts": .array(restarts.map { ["time": ms($0.time), "outcome": .string($0.outcome)] }),
        ]
    }

    /// The deployment `json` (a `persisted` record) describes, its spec checked against `table` (the live group
    /// is not: traffic may have moved already).
    init(persisted json: JSONValue, table: RoutingTable) throws(JSONShapeError) {
        let members = try JSONMembers(json, path: "deployment")
        let source = try members.value("spec")
        let spec: DeploymentSpec
        do {
            spec = try DeploymentSpec.parse(source, table: table, checkingLiveGroup: false)
        } catch {
            throw JSONShapeError(description: "deployment \((try? members.string("id")) ?? "?"): its spec no longer fits: \(error)")
        }
        self.init(id: try members.string("id"), spec: spec, source: source, liveGroup: try members.string("live_group"),
                  now: try members.unsigned("created"))
        func optionalUnsigned(_ key: String) throws(JSONShapeError) -> UInt64? {
            members.optional(key) == nil ? nil : try members.unsigned(key)
        }
        func flag(_ key: String) -> Bool { members.optional(key)?.boolValue ?? false }
        cursor = try members.integer("cursor")
        guard let status = DeploymentStatus(rawValue: try members.string("status")), (0...plan.count).contains(cursor) else {
            throw JSONShapeError(description: "deployment.status: not a status, or the cursor is off the plan")
        }
        self.status = status
        reason = try members.string("reason")
        phases = try members.array("phases") { (value, path) throws(JSONShapeError) in
            let record = try JSONMembers(value, path: path)
            guard let phase = DeploymentPhase(rawValue: try record.string("phase")),
                  let outcome = PhaseRecord.Outcome(rawValue: try record.string("outcome")) else {
                throw JSONShapeError(description: "\(path): unknown phase or outcome")
            }
            return PhaseRecord(phase: phase, started: try record.unsigned("started"),
                               ended: record.optional("ended") == nil ? nil : try record.unsigned("ended"),
                               outcome: outcome, detail: record.optional("detail")?.stringValue,
                               outputTail: record.optional("output_tail")?.stringValue)
        }
        steps = try members.array("steps") { (value, path) throws(JSONShapeError) in
            let record = try JSONMembers(value, path: path)
            return StepRecord(index: try record.integer("index"), weight: try record.integer("weight"),
                              routed: try record.unsigned("routed"),
                              generation: record.optional("generation") == nil ? nil : try record.unsigned("generation"))
        }
        replacementWeight = try members.integer("replacement_weight")
        testOnReplacement = flag("test_on_replacement")
        deadline = try optionalUnsigned("deadline")
        frozenRemaining = try optionalUnsigned("frozen_remaining")
        held = flag("held")
        promoted = flag("promoted")
        alarms = try members.array("alarms") { (value, path) throws(JSONShapeError) in
            let record = try JSONMembers(value, path: path)
            guard let alarm = FigureAlarmBreach.Alarm(rawValue: try record.string("alarm")) else {
                throw JSONShapeError(description: "\(path): unknown alarm")
            }
            return FigureAlarmBreach(alarm: alarm, value: record.optional("value")?.numberValue ?? 0,
                                     threshold: record.optional("threshold")?.numberValue ?? 0)
        }
        generations = try members.array("generations") { (value, path) throws(JSONShapeError) in
            guard let generation = value.intValue, generation >= 0 else { throw JSONShapeError(description: "\(path): expected a generation") }
            return UInt64(generation)
        }
        if let change = members.optional("routing") {
            let record = try JSONMembers(change, path: "deployment.routing")
            routing = DeploymentRouting(
                replacementWeight: record.optional("replacement_weight")?.intValue.map(Int.init),
                test: record.optional("test")?.stringValue.flatMap(DeploymentRouting.TestRoute.init(rawValue:)),
                register: Self.targets(record.optional("register")), deregister: Self.targets(record.optional("deregister")))
        }
        registered = Self.targets(members.optional("registered"))
        if let seen = members.optional("readiness_seen")?.arrayValue, seen.count == 2,
           let healthy = seen[0].intValue, let total = seen[1].intValue {
            readinessSeen = (Int(healthy), Int(total))
        }
        updated = try members.unsigned("updated")
        ended = try optionalUnsigned("ended")
        restarts = try members.array("restarts") { (value, path) throws(JSONShapeError) in
            let record = try JSONMembers(value, path: path)
            return (try record.unsigned("time"), try record.string("outcome"))
        }
    }
}

extension DeploymentState {
    /// A list of `host:port` strings in a record (absent: none).
    fileprivate static func targets(_ list: JSONValue?) -> [HostPort] {
        (list?.arrayValue ?? []).compactMap { $0.stringValue.flatMap(HostPort.parse) }
    }
}

extension JSONValue {
    /// A number, whole or not; nil for anything else.
    var numberValue: Double? {
        switch self {
        case .int(let value): return Double(value)
        case .double(let value): return value
        default: return nil
        }
    }
}
