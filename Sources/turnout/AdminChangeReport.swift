import TurnoutControl

/// Readable text for the answers of mutations: routing changes (switch, weights) and target changes.
enum AdminChangeReport {
    /// `{"generation", "previous_generation", "listeners"}` or, for a dry run, `{"dry_run": true, ...}`.
    static func routing(_ answer: JSONValue) -> String {
        var table = AdminTextTable("LISTENER", "FORWARD")
        let listeners = answer["listeners"]?.objectValue ?? [:]
        for name in listeners.keys.sorted() {
            table.add(name, StatusTable.forward(listeners[name]))
        }
        let changed = !listeners.isEmpty
        let heading: String
        if answer["dry_run"]?.boolValue == true {
            heading = "dry run at generation \(number(answer["generation"])): nothing applied"
                + (changed ? "; the request would set" : "; no listener would change")
        } else {
            heading = generations(answer) + (changed ? "" : ": no listener changed")
        }
        return changed ? heading + "\n" + table.rendered : heading
    }

    /// `{"generation", "previous_generation", "group", "targets"}`.
    static func targets(_ answer: JSONValue) -> String {
        let group = answer["group"]?.stringValue ?? "?"
        return "\(generations(answer)): target group \(group)\n"
            + StatusTable.render(targets: answer["targets"]?.arrayValue ?? [])
    }

    /// `generation 3 → 4`, or `generation 3 (unchanged)` when nothing was published.
    private static func generations(_ answer: JSONValue) -> String {
        let before = number(answer["previous_generation"])
        let after = number(answer["generation"])
        return before == after ? "generation \(after) (unchanged)" : "generation \(before) → \(after)"
    }

    private static func number(_ value: JSONValue?) -> String {
        value?.intValue.map(String.init) ?? "?"
    }
}
