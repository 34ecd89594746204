import TurnoutControl

/// Left-aligned columns separated by two spaces, header first; no trailing spaces.
struct AdminTextTable {
    let header: [String]
    private(set) var rows: [[String]] = []

    init(_ header: String...) {
        self.header = header
    }

    mutating func add(_ cells: String...) {
        rows.append(cells)
    }

    mutating func add(_ cells: [String]) {
        rows.append(cells)
    }

    var rendered: String {
        let all = [header] + rows
        var widths = [Int](repeating: 0, count: header.count)
        for row in all {
            for (column, cell) in row.enumerated() where column < widths.count {
                widths[column] = max(widths[column], cell.count)
            }
        }
        return all.map { row in
            var line = ""
            for (column, cell) in row.enumerated() {
                line += cell
                if column < row.count - 1 {
                    line += String(repeating: " ", count: widths[column] - cell.count + 2)
                }
            }
            while line.hasSuffix(" ") { line.removeLast() }
            return line
        }.joined(separator: "\n")
    }
}

/// Readable text for `GET /v1/status` and for target lists. Missing fields show as `?` rather than
/// failing: the table is for people, `--json` is for programs.
enum StatusTable {
    /// The whole status: generation, listeners, target groups, targets, deployment.
    static func render(status: JSONValue) -> String {
        var sections: [String] = []
        sections.append("generation \(status["generation"]?.intValue.map(String.init) ?? "?")")

        var listeners = AdminTextTable("LISTENER", "BIND", "FORWARD")
        for listener in status["listeners"]?.arrayValue ?? [] {
            listeners.add(
                listener["name"]?.stringValue ?? "?", listener["bind"]?.stringValue ?? "?", forward(listener["forward"]))
            // Its rules below it, in the order they are tried: a forward's split, or what the rule answers.
            for rule in listener["rules"]?.arrayValue ?? [] {
                let action: String
                if let split = rule["forward"] {
                    action = forward(split)
                } else if let fixed = rule["fixed_response"] {
                    action = "fixed response \(fixed["status"]?.intValue.map(String.init) ?? "?")"
                } else {
                    action = "redirect \(rule["redirect"]?["status"]?.intValue.map(String.init) ?? "?")"
                }
                listeners.add("  rule \(rule["name"]?.stringValue ?? "?")", "", action)
            }
        }
        sections.append(listeners.rendered)

        let groups = status["target_groups"]?.arrayValue ?? []
        var groupTable = AdminTextTable("GROUP", "ALGORITHM", "ALL UNHEALTHY", "HEALTH CHECK", "TARGETS")
        var targetTable = AdminTextTable("GROUP", "TARGET", "STATE", "ROUTABLE", "REASON")
        var nameTable = AdminTextTable("GROUP", "NAME", "STATE", "ADDRESSES", "RESOLVED AT", "ERROR")
        var targetCount = 0
        for group in groups {
            let name = group["name"]?.stringValue ?? "?"
            let targets = group["targets"]?.arrayValue ?? []
            let routable = targets.filter { $0["routable"]?.boolValue == true }.count
            groupTable.add(
                name, group["algorithm"]?.stringValue ?? "?", group["on_all_unhealthy"]?.stringValue ?? "?",
                healthCheck(group["health_check"]), "\(routable)/\(targets.count) routable")
            for target in targets {
                targetTable.add([name] + targetCells(target))
                targetCount += 1
            }
            for entry in group["names"]?.arrayValue ?? [] {
                nameTable.add([name] + nameCells(entry))
            }
        }
        sections.append(groupTable.rendered)
        if targetCount > 0 { sections.append(targetTable.rendered) }
        if !nameTable.rows.isEmpty { sections.append(nameTable.rendered) }
        sections.append(configSources(listeners: status["listeners"]?.arrayValue ?? [], groups: groups))
        sections.append("deployment: \(deployment(status["deployment"]))")
        return sections.joined(separator: "\n\n")
    }

    /// Which forwards and target lists are not the configuration file's: a table of runtime changes (value, since
    /// when and by what, the file's value), or one line saying everything is the file's.
    static func configSources(listeners: [JSONValue], groups: [JSONValue]) -> String {
        var table = AdminTextTable("FROM RUNTIME", "IN FORCE", "SINCE", "BY", "THE FILE SAYS")
        for listener in listeners {
            guard let source = listener["forward_source"], source["from"]?.stringValue == "runtime" else { continue }
            table.add(["listeners.\(listener["name"]?.stringValue ?? "?").forward", forward(listener["forward"])]
                      + changeCells(source) + [forward(source["config"])])
        }
        for group in groups {
            guard let source = group["targets_source"], source["from"]?.stringValue == "runtime" else { continue }
            let running = (source["in_force"]?.arrayValue ?? []).map { $0.stringValue ?? "?" }
            let file = (source["config"]?.arrayValue ?? []).map { $0.stringValue ?? "?" }
            table.add(["target_groups.\(group["name"]?.stringValue ?? "?").targets", targetList(running)]
                      + changeCells(source) + [targetList(file)])
        }
        guard !table.rows.isEmpty else { return "every forward and target list is the configuration file's" }
        return table.rendered + "\n(runtime changes are saved and kept across restarts; "
            + "`turnout reset --to-config` puts back the file's)"
    }

    /// `2026-11-27T12:00:00.000Z` and `switch (127.0.0.1:40112)`; `?` once the audit log no longer holds the change.
    private static func changeCells(_ source: JSONValue) -> [String] {
        let since = source["since"]?.stringValue ?? "?"
        guard let action = source["action"]?.stringValue else { return [since, "?"] }
        return [since, "\(action) (\(source["caller"]?.stringValue ?? "?"))"]
    }

    private static func targetList(_ targets: [String]) -> String {
        targets.isEmpty ? "-" : targets.joined(separator: ",")
    }

    /// The targets of one group (`targets list`, and after `targets add|remove`), and its names.
    static func render(targets: [JSONValue], names: [JSONValue] = []) -> String {
        var sections: [String] = []
        if targets.isEmpty {
            sections.append("no targets")
        } else {
            var table = AdminTextTable("TARGET", "STATE", "ROUTABLE", "REASON")
            for target in targets {
                table.add(targetCells(target))
            }
            sections.append(table.rendered)
        }
        if !names.isEmpty {
            var table = AdminTextTable("NAME", "STATE", "ADDRESSES", "RESOLVED AT", "ERROR")
            for entry in names { table.add(nameCells(entry)) }
            sections.append(table.rendered)
        }
        return sections.joined(separator: "\n\n")
    }

    /// `blue=100 green=0`, by group name (the order the API writes them in); `-` for an empty forward.
    static func forward(_ value: JSONValue?) -> String {
        guard let members = value?.objectValue else { return "?" }
        guard !members.isEmpty else { return "-" }
        return members.keys.sorted().map { "\($0)=\(members[$0]?.intValue.map(String.init) ?? "?")" }.joined(separator: " ")
    }

    /// Target, state, routable, and reason with its description.
    private static func targetCells(_ target: JSONValue) -> [String] {
        var reason = target["reason"]?.stringValue ?? "-"
        if let description = target["description"]?.stringValue, !description.isEmpty {
            reason = reason == "-" ? description : "\(reason): \(description)"
        }
        let routable: String
        switch target["routable"]?.boolValue {
        case true?: routable = "yes"
        case false?: routable = "no"
        case nil: routable = "?"
        }
        var shown = target["target"]?.stringValue ?? "?"
        if let name = target["name"]?.stringValue { shown += " (\(name))" }
        return [shown, target["state"]?.stringValue ?? "?", routable, reason]
    }

    /// Name, state, addresses in force, time of the last lookup that found them, and the latest error.
    private static func nameCells(_ entry: JSONValue) -> [String] {
        let addresses = entry["addresses"]?.arrayValue?.compactMap(\.stringValue) ?? []
        return [entry["name"]?.stringValue ?? "?", entry["state"]?.stringValue ?? "?",
                addresses.isEmpty ? "-" : addresses.joined(separator: " "), entry["resolved_at"]?.stringValue ?? "-",
                entry["error"]?.stringValue ?? "-"]
    }

    private static func healthCheck(_ check: JSONValue?) -> String {
        guard let check, check != .null else { return "?" }
        if check["enabled"]?.boolValue == false { return "disabled" }
        let path = check["path"]?.stringValue ?? "?"
        let interval = check["interval"]?.stringValue ?? "?"
        return "\(path) every \(interval)"
    }

    private static func deployment(_ value: JSONValue?) -> String {
        guard let value, value != .null else { return "none" }
        let id = value["id"].map { $0.stringValue ?? $0.jsonText }
        let state = value["state"]?.stringValue
        if let id, let state { return "\(id) (\(state))" }
        return value.jsonText
    }
}

/// Readable text for the answers of mutations: routing changes (switch, weights) and target changes.
enum AdminChangeReport {
    /// `{"generation", "previous_generation", "listeners"}` or, for a dry run, `{"dry_run": true, ...}`.
    static func routing(_ answer: JSONValue) -> String {
        var table = AdminTextTable("LISTENER", "FORWARD")
        let listeners = answer["listeners"]?.objectValue ?? [:]
        for name in listeners.keys.sorted() {
            table.add(name, StatusTable.forward(listeners[name]))
        }
        // A rule's forward shows as `listener rule NAME`.
        let rules = answer["rules"]?.objectValue ?? [:]
        for listener in rules.keys.sorted() {
            let named = rules[listener]?.objectValue ?? [:]
            for rule in named.keys.sorted() { table.add("\(listener) rule \(rule)", StatusTable.forward(named[rule])) }
        }
        let changed = !listeners.isEmpty || !rules.isEmpty
        let heading: String
        if answer["dry_run"]?.boolValue == true {
            heading = "dry run at generation \(number(answer["generation"])): nothing applied"
                + (changed ? "; the request would set" : "; no listener would change")
        } else {
            heading = generations(answer) + (changed ? "" : ": no listener changed")
        }
        return changed ? heading + "\n" + table.rendered : heading
    }

    /// `{"generation", "previous_generation", "reset", "listeners", "target_groups"}` of `POST /v1/reset`, or its
    /// dry run: what was put back, and the forwards in force after it.
    static func reset(_ answer: JSONValue) -> String {
        let keys = (answer["reset"]?.arrayValue ?? []).compactMap(\.stringValue)
        let heading: String
        if answer["dry_run"]?.boolValue == true {
            heading = "dry run at generation \(number(answer["generation"])): nothing applied"
                + (keys.isEmpty ? "; the routing is the configuration file's already"
                                : "; a reset would put back \(keys.joined(separator: ", "))")
        } else if keys.isEmpty {
            heading = "\(generations(answer)): the routing is the configuration file's already"
        } else {
            heading = "\(generations(answer)): put back the configuration file's \(keys.joined(separator: ", "))"
        }
        guard !keys.isEmpty else { return heading }
        var table = AdminTextTable("LISTENER", "FORWARD")
        let listeners = answer["listeners"]?.objectValue ?? [:]
        for name in listeners.keys.sorted() { table.add(name, StatusTable.forward(listeners[name])) }
        return heading + "\n" + table.rendered
    }

    /// `{"generation", "previous_generation", "group", "targets"}`.
    static func targets(_ answer: JSONValue) -> String {
        let group = answer["group"]?.stringValue ?? "?"
        return "\(generations(answer)): target group \(group)\n"
            + StatusTable.render(targets: answer["targets"]?.arrayValue ?? [], names: answer["names"]?.arrayValue ?? [])
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
