import TurnoutCore
import TurnoutMetrics

/// A deployment as `GET /v1/deployments/{id}` shows it and its events carry it.
extension DeploymentState {
    /// The whole record: the summary, every phase, step and alarm.
    var json: JSONValue {
        var members = eventJSON
        members["phases"] = .array(phases.map(\.json))
        members["steps"] = .array(steps.map { step in
            [
                "index": .int(Int64(step.index)), "weight": .int(Int64(step.weight)),
                "time": .string(AuditTimestamp.iso8601(milliseconds: step.routed)),
                "generation": step.generation.map { .int(Int64($0)) } ?? .null,
                "report": step.generation.map { ControlPlane.reportPath($0) } ?? .null,
            ]
        })
        members["alarms"] = .array(alarms.map(\.json))
        members["generations"] = .array(generations.map { .int(Int64($0)) })
        members["strategy"] = [
            "name": .string(spec.strategy.name),
            "steps": .array(spec.strategy.steps.map { step in
                [
                    "weight": .int(Int64(step.weight)), "pause": step.pause.map { .string($0.description) } ?? .null,
                    "approval": .bool(step.approval),
                ]
            }),
        ]
        members["alarm_limits"] = spec.alarms.map(\.json) ?? .null
        members["termination_wait"] = .string(spec.terminationWait.description)
        members["report"] = .string("/v1/deployments/\(id)/report")
        members["restarts"] = .array(restarts.map {
            ["time": .string(AuditTimestamp.iso8601(milliseconds: $0.time)), "outcome": .string($0.outcome)]
        })
        return .object(members)
    }

    /// The summary an event carries: where the deployment is.
    var eventJSON: [String: JSONValue] {
        func time(_ ms: UInt64?) -> JSONValue { ms.map { .string(AuditTimestamp.iso8601(milliseconds: $0)) } ?? .null }
        return [
            "id": .string(id), "listener": .string(spec.listener), "rule": spec.rule.map(JSONValue.string) ?? .null,
            "test_listener": spec.testListener.map(JSONValue.string) ?? .null,
            "target_group": .string(spec.targetGroup), "live_group": .string(liveGroup),
            "status": .string(status.rawValue), "reason": .string(reason), "phase": .string(phase.rawValue),
            "stage": position.map { .string($0.stage.rawValue) } ?? .null,
            "step": .int(Int64(stepsDone)), "steps_total": .int(Int64(spec.strategy.steps.count)),
            "replacement_weight": .int(Int64(replacementWeight)), "test_on_replacement": .bool(testOnReplacement),
            "promoted": .bool(promoted), "created": time(created), "updated": time(updated), "ended": time(ended),
            "deadline": time(deadline),
            "paused_remaining_ms": frozenRemaining.map { .int(Int64($0)) } ?? .null,
        ]
    }
}

extension DeploymentState.PhaseRecord {
    var json: JSONValue {
        [
            "phase": .string(phase.rawValue), "outcome": .string(outcome.rawValue),
            "started": .string(AuditTimestamp.iso8601(milliseconds: started)),
            "ended": ended.map { .string(AuditTimestamp.iso8601(milliseconds: $0)) } ?? .null,
            "detail": detail.map(JSONValue.string) ?? .null, "output_tail": outputTail.map(JSONValue.string) ?? .null,
        ]
    }
}

extension FigureAlarmBreach {
    var json: JSONValue {
        ["alarm": .string(alarm.rawValue), "value": .double(rounded(value, places: 6)), "threshold": .double(threshold)]
    }
}

extension DeploymentAlarms {
    /// The limits the replacement's figures are judged against (null: not judged), for people to compare the
    /// figures with while the deployment runs.
    var json: JSONValue {
        func number(_ value: Double?) -> JSONValue { value.map { .double($0) } ?? .null }
        return [
            "window_seconds": .int(Int64(windowSeconds)), "min_requests": .int(Int64(figures.minRequests)),
            "max_5xx_rate": number(figures.max5xxRate), "max_p99_ms": number(figures.maxP99.map { rounded($0 * 1000, places: 3) }),
            "max_p99_ratio": number(figures.maxP99Ratio),
            "max_connect_errors": figures.maxConnectErrors.map { .int(Int64($0)) } ?? .null,
            "max_unhealthy_targets": maxUnhealthyTargets.map { .int(Int64($0)) } ?? .null,
        ]
    }
}
