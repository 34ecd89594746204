/// Readable text for `GET /v1/status` and for target lists. Missing fields show as `?` rather than
/// failing: the table is for people, `--json` is for programs.
enum StatusTable {
    /// The whole status: generation, listeners, target groups, targets, deployment.
    static func render(status: AdminJSON) -> String {
        var sections: [String] = []
        sections.append("generation \(status["generation"]?.int.map(String.init) ?? "?")")

        var listeners = AdminTextTable("LISTENER", "BIND", "FORWARD")
        for listener in status["listeners"]?.array ?? [] {
            listeners.add(
                listener["name"]?.string ?? "?", listener["bind"]?.string ?? "?", forward(listener["forward"]))
        }
        sections.append(listeners.rendered)

        let groups = status["target_groups"]?.array ?? []
        var groupTable = AdminTextTable("GROUP", "ALGORITHM", "ALL UNHEALTHY", "HEALTH CHECK", "TARGETS")
        var targetTable = AdminTextTable("GROUP", "TARGET", "STATE", "ROUTABLE", "REASON")
        var targetCount = 0
        for group in groups {
            let name = group["name"]?.string ?? "?"
            let targets = group["targets"]?.array ?? []
            let routable = targets.filter { $0["routable"]?.bool == true }.count
            groupTable.add(
                name, group["algorithm"]?.string ?? "?", group["on_all_unhealthy"]?.string ?? "?",
                healthCheck(group["health_check"]), "\(routable)/\(targets.count) routable")
            for target in targets {
                targetTable.add([name] + targetCells(target))
                targetCount += 1
            }
        }
        sections.append(groupTable.rendered)
        if targetCount > 0 { sections.append(targetTable.rendered) }
        sections.append("deployment: \(deployment(status["deployment"]))")
        return sections.joined(separator: "\n\n")
    }

    /// The targets of one group (`targets list`, and after `targets add|remove`).
    static func render(targets: [AdminJSON]) -> String {
        guard !targets.isEmpty else { return "no targets" }
        var table = AdminTextTable("TARGET", "STATE", "ROUTABLE", "REASON")
        for target in targets {
            table.add(targetCells(target))
        }
        return table.rendered
    }

    /// `blue=100 green=0`, in the order the API gave; `-` for an empty forward.
    static func forward(_ value: AdminJSON?) -> String {
        guard let members = value?.members else { return "?" }
        guard !members.isEmpty else { return "-" }
        return members.map { "\($0.key)=\($0.value.int.map(String.init) ?? "?")" }.joined(separator: " ")
    }

    /// Target, state, routable, and reason with its description.
    private static func targetCells(_ target: AdminJSON) -> [String] {
        var reason = target["reason"]?.string ?? "-"
        if let description = target["description"]?.string, !description.isEmpty {
            reason = reason == "-" ? description : "\(reason): \(description)"
        }
        let routable: String
        switch target["routable"]?.bool {
        case true?: routable = "yes"
        case false?: routable = "no"
        case nil: routable = "?"
        }
        return [target["target"]?.string ?? "?", target["state"]?.string ?? "?", routable, reason]
    }

    private static func healthCheck(_ check: AdminJSON?) -> String {
        guard let check, !check.isNull else { return "?" }
        if check["enabled"]?.bool == false { return "disabled" }
        let path = check["path"]?.string ?? "?"
        let interval = check["interval"]?.string ?? "?"
        return "\(path) every \(interval)"
    }

    private static func deployment(_ value: AdminJSON?) -> String {
        guard let value, !value.isNull else { return "none" }
        let id = value["id"].map { $0.string ?? $0.serialized }
        let state = value["state"]?.string
        if let id, let state { return "\(id) (\(state))" }
        return value.serialized
    }
}
