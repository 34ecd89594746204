/// Readable text for the answers of mutations: routing changes (switch, weights) and target changes.
enum AdminChangeReport {
    /// `{"generation", "previous_generation", "listeners"}` or, for a dry run, `{"dry_run": true, ...}`.
    static func routing(_ answer: AdminJSON) -> String {
        var table = AdminTextTable("LISTENER", "FORWARD")
        for listener in answer["listeners"]?.members ?? [] {
            table.add(listener.key, StatusTable.forward(listener.value))
        }
        let changed = !(answer["listeners"]?.members ?? []).isEmpty
        let heading: String
        if answer["dry_run"]?.bool == true {
            heading = "dry run at generation \(number(answer["generation"])): nothing applied"
                + (changed ? "; the request would set" : "; no listener would change")
        } else {
            heading = generations(answer) + (changed ? "" : ": no listener changed")
        }
        return changed ? heading + "\n" + table.rendered : heading
    }

    /// `{"generation", "previous_generation", "group", "targets"}`.
    static func targets(_ answer: AdminJSON) -> String {
        let group = answer["group"]?.string ?? "?"
        return "\(generations(answer)): target group \(group)\n"
            + StatusTable.render(targets: answer["targets"]?.array ?? [])
    }

    /// `generation 3 → 4`, or `generation 3 (unchanged)` when nothing was published.
    private static func generations(_ answer: AdminJSON) -> String {
        let before = number(answer["previous_generation"])
        let after = number(answer["generation"])
        return before == after ? "generation \(after) (unchanged)" : "generation \(before) → \(after)"
    }

    private static func number(_ value: AdminJSON?) -> String {
        value?.int.map(String.init) ?? "?"
    }
}
