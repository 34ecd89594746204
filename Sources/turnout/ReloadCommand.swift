import ArgumentParser
import TurnoutControl

/// `turnout reload`: what SIGHUP does, through the admin API (no PID to look for), and its outcome.
struct ReloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Read the configuration file again and apply what it changed (as SIGHUP does).",
        discussion: """
            Prints what was applied, or that the file changes nothing in force. A file that is invalid or \
            changes keys only a restart applies is refused whole, naming the keys (exit 1).
            """
    )

    @OptionGroup var admin: AdminOptions

    func run() throws {
        let session = try AdminSession(admin)
        let answer = try session.perform(AdminClientRequest(.post, "/v1/reload"))
        session.show(Self.report(answer))
    }

    /// `reload applied (keys): generation 3 → 4`, `... ; generation 3 kept`, or `reload: nothing to change ...`.
    static func report(_ answer: JSONValue) -> String {
        let generation = answer["generation"]?.intValue.map(String.init) ?? "?"
        let previous = answer["previous_generation"]?.intValue.map(String.init) ?? "?"
        let kept = "generation \(generation) kept"
        guard answer["outcome"]?.stringValue == "applied" else {
            let already = answer["already_in_force"]?.arrayValue?.compactMap(\.stringValue) ?? []
            return "reload: nothing to change" + (already.isEmpty ? "" : " (\(already.joined(separator: ", ")) already in force)")
                + "; \(kept)"
        }
        let keys = (answer["applied"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ", ")
        return generation == previous ? "reload applied (\(keys)); \(kept)" : "reload applied (\(keys)): generation \(previous) → \(generation)"
    }
}
