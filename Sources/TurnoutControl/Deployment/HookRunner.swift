import Glibc

/// The real `HookRunning`, on the control loop: an `exec` hook is a `CommandHookRun` (a child process watched
/// through a pidfd and its output pipe on the loop's epoll), an `http` hook an `HTTPHookRun` (non-blocking
/// POSTs on the same loop). Neither blocks the loop: there is no thread to hand the outcome back from, and it
/// reaches `completion` on the loop's thread like any other event.
public final class HookRunner: HookRunning {
    /// How long a command's process group has between SIGTERM and SIGKILL, at a timeout or a cancel.
    public static let defaultKillGrace: UInt64 = 5_000_000_000

    private let loop: ControlLoop
    private let resolver: any NameResolver
    private let killGrace: UInt64
    private var commands: [UInt64: CommandHookRun] = [:]
    private var requests: [UInt64: HTTPHookRun] = [:]

    /// - Parameter resolver: looks up an `http` hook's host when it is a name (by default with `getaddrinfo` on
    ///   a thread of its own, as target names are).
    public init(loop: ControlLoop, resolver: (any NameResolver)? = nil, killGrace: UInt64 = HookRunner.defaultKillGrace) {
        self.loop = loop
        self.resolver = resolver ?? ThreadedNameResolver(loop: loop)
        self.killGrace = killGrace
    }

    public func start(_ hook: HookSpec, context: HookContext, completion: @escaping (HookOutcome) -> Void) {
        let runID = context.runID
        switch hook.action {
        case .exec(let arguments):
            // Kept until the command is reaped and its pipe closed, which may be after the outcome.
            let run = CommandHookRun(loop: loop, killGrace: killGrace, completion: completion) { [weak self] in
                self?.commands[runID] = nil
            }
            commands[runID] = run
            run.start(arguments: arguments, environment: Self.environment(for: context), timeout: hook.timeout.nanoseconds)
        case .http(let url):
            let run = HTTPHookRun(loop: loop, resolver: resolver, url: url, body: Self.body(for: context).jsonBytes) { [weak self] outcome in
                self?.requests[runID] = nil
                completion(outcome)
            }
            requests[runID] = run
            run.start(timeout: hook.timeout.nanoseconds)
        }
    }

    public func cancel(runID: UInt64) {
        commands[runID]?.cancel()
        requests.removeValue(forKey: runID)?.cancel()
    }

    /// Runs started and not yet over (a command counts until it is reaped and its pipe closed).
    var activeRuns: Int { commands.count + requests.count }

    /// The variables a command gets on top of this process's environment, absent values unset.
    static func variables(for context: HookContext) -> [(name: String, value: String?)] {
        [
            ("TURNOUT_DEPLOYMENT_ID", context.deploymentID), ("TURNOUT_PHASE", context.phase),
            ("TURNOUT_LISTENER", context.listener), ("TURNOUT_TEST_LISTENER", context.testListener),
            ("TURNOUT_PRODUCTION_URL", context.productionURL), ("TURNOUT_TEST_URL", context.testURL),
            ("TURNOUT_TARGET_GROUP", context.targetGroup), ("TURNOUT_LIVE_GROUP", context.liveGroup),
        ]
    }

    /// This process's environment without the context's variables, then the context's that have a value.
    static func environment(for context: HookContext) -> [String] {
        let variables = variables(for: context)
        let names = Set(variables.map { "\($0.name)=" })
        var inherited: [String] = []
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if let equals = text.firstIndex(of: "="), names.contains(String(text[...equals])) {
                // replaced below, or unset
            } else {
                inherited.append(text)
            }
            entry += 1
        }
        return inherited + variables.compactMap { variable in variable.value.map { "\(variable.name)=\($0)" } }
    }

    /// An `http` hook's JSON body: the same facts, snake_case keys, absent values null.
    static func body(for context: HookContext) -> JSONValue {
        .object(Dictionary(uniqueKeysWithValues: variables(for: context).map { variable in
            (variable.name.dropFirst("TURNOUT_".count).lowercased(), variable.value.map(JSONValue.string) ?? .null)
        }))
    }
}
