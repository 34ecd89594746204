import ArgumentParser
import TurnoutControl

/// `turnout targets list|add|remove GROUP [HOST:PORT ...]`: a target group's registered targets.
struct TargetsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "targets",
        abstract: "List, register or deregister the targets of a target group.",
        subcommands: [List.self, Add.self, Remove.self]
    )

    /// `turnout targets list GROUP`.
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a group's targets with their health.")

        @Argument(help: "The target group.")
        var group: String

        @OptionGroup var admin: AdminOptions

        func run() throws {
            let session = try AdminSession(admin)
            let answer = try session.perform(AdminClientRequest(.get, TargetsCommand.path(group)))
            session.show(StatusTable.render(targets: answer["targets"]?.arrayValue ?? [], names: answer["names"]?.arrayValue ?? []))
        }
    }

    /// `turnout targets add GROUP HOST:PORT ...`: one registration, one generation.
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register targets; they take traffic once healthy.")

        @OptionGroup var selection: TargetSelection
        @OptionGroup var admin: AdminOptions

        func run() throws {
            let session = try AdminSession(admin)
            let body: JSONValue = ["targets": .array(selection.targets.map(JSONValue.string))]
            let answer = try session.perform(AdminClientRequest(.post, TargetsCommand.path(selection.group), body: body))
            session.show(AdminChangeReport.targets(answer))
        }
    }

    /// `turnout targets remove GROUP HOST:PORT ...`: deregisters each in turn; they drain.
    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Deregister targets; they drain for the group's deregistration delay.")

        @OptionGroup var selection: TargetSelection
        @OptionGroup var admin: AdminOptions

        func run() throws {
            let session = try AdminSession(admin)
            for target in selection.targets {
                let path = TargetsCommand.path(selection.group) + "/" + AdminPath.segment(target)
                let answer = try session.perform(AdminClientRequest(.delete, path))
                session.show(AdminChangeReport.targets(answer))
            }
        }
    }

    /// The group and the targets that `add` and `remove` act on.
    struct TargetSelection: ParsableArguments {
        @Argument(help: "The target group.")
        var group: String

        @Argument(help: ArgumentHelp("The targets.", valueName: "host:port"))
        var targets: [String]

        func validate() throws {
            guard !targets.isEmpty else { throw ValidationError("give at least one HOST:PORT") }
        }
    }

    static func path(_ group: String) -> String {
        "/v1/target-groups/\(AdminPath.segment(group))/targets"
    }
}
