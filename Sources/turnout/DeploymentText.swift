import Glibc
import TurnoutControl

/// Readable text for deployments: the list, one deployment's view (summary, phase timeline, the production
/// split as a bar, where the strategy is, each group's recent figures), and the one-line form of an event.
/// Missing fields show as `?`: the text is for people, `--json` is for programs.
enum DeploymentText {
    /// The statuses a deployment ends in, with the exit status `--watch` gives for each.
    static let finalStatuses: [String: Int32] = ["Succeeded": 0, "RolledBack": 2, "Failed": 1, "Stopped": 1]

    /// Whether `deployment` has not ended (an action may still apply to it).
    static func isActive(_ deployment: JSONValue) -> Bool {
        guard let status = deployment["status"]?.stringValue else { return false }
        return finalStatuses[status] == nil
    }

    /// `GET /v1/deployments`: one row per deployment, newest first.
    static func list(_ deployments: [JSONValue]) -> String {
        guard !deployments.isEmpty else { return "no deployments" }
        var table = AdminTextTable("ID", "LISTENER", "LIVE → REPLACEMENT", "STATUS", "PHASE", "STEP", "WEIGHT", "CREATED",
                                   "REASON")
        for deployment in deployments {
            table.add(text(deployment["id"]), text(deployment["listener"]), groups(deployment), text(deployment["status"]),
                      text(deployment["phase"]), step(deployment), "\(text(deployment["replacement_weight"]))%",
                      text(deployment["created"]), text(deployment["reason"]))
        }
        return table.rendered
    }

    /// One deployment: the summary, the phases with their outcome and times, the split and the strategy's
    /// position (with the countdown to `now`, wall-clock milliseconds), then the groups' figures when given
    /// (`GET /v1/status`'s `figures.target_groups`).
    static func view(_ deployment: JSONValue, now: UInt64, figures: JSONValue? = nil) -> String {
        var sections: [String] = []
        let strategy = deployment["strategy"]?["name"]?.stringValue.map { " (\($0))" } ?? ""
        sections.append("""
            deployment \(text(deployment["id"])) on \(text(deployment["listener"])): \(groups(deployment))\(strategy)
            \(text(deployment["status"])): \(text(deployment["reason"]))
            """)

        var phases = AdminTextTable("  PHASE", "OUTCOME", "STARTED", "ENDED", "DETAIL")  // `> ` marks the current one
        let current = deployment["phase"]?.stringValue
        let active = isActive(deployment)
        for phase in deployment["phases"]?.arrayValue ?? [] {
            let name = text(phase["phase"])
            let marker = active && name == current ? "> " : "  "
            phases.add(marker + name, text(phase["outcome"]), clock(phase["started"]), clock(phase["ended"]),
                       oneLine(phase["detail"]))
        }
        sections.append(phases.rendered)

        sections.append(split(deployment) + "\n" + position(deployment, now: now))

        if let figures {
            var table = AdminTextTable("GROUP", "ROLE", "REQ/S", "5XX RATE", "P99")
            for (group, role) in [(deployment["live_group"], "live"), (deployment["target_group"], "replacement")] {
                let name = text(group)
                let recent = figures[name]?["10s"]
                table.add(name, role, number(recent?["request_rate"], places: 1), percent(recent?["error_rate_5xx"]),
                          milliseconds(recent?["p99_ms"]))
            }
            sections.append(table.rendered + "\n(the last 10 seconds)")
        }
        let alarms = (deployment["alarms"]?.arrayValue ?? []).map {
            "alarm \(text($0["alarm"])): \(number($0["value"], places: 4)) over \(number($0["threshold"], places: 4))"
        }
        if !alarms.isEmpty { sections.append(alarms.joined(separator: "\n")) }
        return sections.joined(separator: "\n\n")
    }

    /// `production  blue 90% [====================================####] 10% green`.
    static func split(_ deployment: JSONValue, width: Int = 40) -> String {
        let weight = max(0, min(100, Int(deployment["replacement_weight"]?.intValue ?? 0)))
        let filled = (weight * width + 50) / 100
        let bar = String(repeating: "=", count: width - filled) + String(repeating: "#", count: filled)
        return "\(text(deployment["listener"]))  \(text(deployment["live_group"])) \(100 - weight)% [\(bar)] "
            + "\(weight)% \(text(deployment["target_group"]))"
    }

    /// Step k of n and what the deployment waits for: the countdown to its deadline, an approval, a resume.
    static func position(_ deployment: JSONValue, now: UInt64) -> String {
        var line = "step \(text(deployment["step"])) of \(text(deployment["steps_total"]))"
        let stage = deployment["stage"]?.stringValue
        switch deployment["status"]?.stringValue {
        case "WaitingForApproval":
            line += ", waiting for approval (turnout approve)"
        case "Paused":
            let left = deployment["paused_remaining_ms"]?.intValue.map { ", \(seconds(UInt64(max(0, $0)))) left" } ?? ""
            line += ", paused\(left) (turnout resume)"
        case "InProgress":
            if let deadline = deployment["deadline"]?.stringValue.flatMap(isoMilliseconds) {
                line += ", \(stage ?? "wait") ends in \(seconds(deadline > now ? deadline - now : 0))"
            } else if let stage {
                line += ", \(stage)"
            }
        default:
            break
        }
        return line
    }

    /// One line for an event: time, deployment, status, phase, step, the replacement's weight, the reason.
    static func eventLine(_ event: JSONValue) -> String {
        [clock(event["time"]), text(event["deployment"]), text(event["status"]), text(event["phase"]),
         "step " + step(event), "\(text(event["target_group"]))=\(text(event["replacement_weight"]))%",
         text(event["reason"])].joined(separator: "  ")
    }

    /// `2026-11-27T13:12:01.234Z` in wall-clock milliseconds.
    static func isoMilliseconds(_ text: String) -> UInt64? {
        let digits = Array(text.utf8)
        guard digits.count >= 20 else { return nil }
        func field(_ start: Int, _ count: Int) -> Int32? {
            var value: Int32 = 0
            for byte in digits[start..<(start + count)] {
                guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int32(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = field(0, 4), let month = field(5, 2), let day = field(8, 2), let hour = field(11, 2),
            let minute = field(14, 2), let second = field(17, 2)
        else { return nil }
        let millis = digits.count >= 23 && digits[19] == UInt8(ascii: ".") ? field(20, 3) ?? 0 : 0
        var parts = tm()
        (parts.tm_year, parts.tm_mon, parts.tm_mday) = (year - 1900, month - 1, day)
        (parts.tm_hour, parts.tm_min, parts.tm_sec) = (hour, minute, second)
        let epoch = timegm(&parts)
        guard epoch >= 0 else { return nil }
        return UInt64(epoch) * 1000 + UInt64(millis)
    }

    private static func groups(_ deployment: JSONValue) -> String {
        "\(text(deployment["live_group"])) → \(text(deployment["target_group"]))"
    }

    private static func step(_ deployment: JSONValue) -> String {
        "\(text(deployment["step"]))/\(text(deployment["steps_total"]))"
    }

    private static func text(_ value: JSONValue?) -> String {
        switch value {
        case .string(let text)?: return text
        case .int(let number)?: return String(number)
        case .null?: return "-"
        default: return "?"
        }
    }

    /// The detail on one line (a hook's message may have several).
    private static func oneLine(_ value: JSONValue?) -> String {
        guard let text = value?.stringValue, !text.isEmpty else { return "" }
        return text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }

    /// `13:12:01.234` of an ISO time; `-` for none.
    private static func clock(_ value: JSONValue?) -> String {
        guard let time = value?.stringValue else { return "-" }
        let characters = Array(time)
        return characters.count >= 23 ? String(characters[11..<23]) : time
    }

    private static func seconds(_ milliseconds: UInt64) -> String {
        "\(milliseconds / 1000).\(milliseconds % 1000 / 100)s"
    }

    private static func double(_ value: JSONValue?) -> Double? {
        switch value {
        case .int(let number)?: return Double(number)
        case .double(let number)?: return number
        default: return nil
        }
    }

    private static func number(_ value: JSONValue?, places: Int) -> String {
        guard let number = double(value) else { return "-" }
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let scaled = Int64((number * scale).rounded())
        let whole = String(scaled / Int64(scale))
        guard places > 0 else { return whole }
        let fraction = String(scaled % Int64(scale))
        return whole + "." + String(repeating: "0", count: places - fraction.count) + fraction
    }

    private static func percent(_ value: JSONValue?) -> String {
        guard let rate = double(value) else { return "-" }
        return number(.double(rate * 100), places: 2) + "%"
    }

    private static func milliseconds(_ value: JSONValue?) -> String {
        guard double(value) != nil else { return "-" }
        return number(value, places: 2) + "ms"
    }
}
