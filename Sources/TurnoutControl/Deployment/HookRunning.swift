import TurnoutCore

/// What a lifecycle hook, `install` or `terminate` does: POST to an HTTP endpoint or run a command.
public enum HookAction: Sendable, Hashable {
    /// POSTs the `HookContext` as a JSON body to `url` (`http://host:port/path`). A 2xx passes; a 202 with
    /// `Retry-After` means "still running, ask again" (the POST is repeated after that many seconds, until
    /// the timeout); any other status, a connection failure or the timeout fails.
    case http(url: String)
    /// Runs `arguments[0]` (looked up in `PATH`) with the rest as its arguments, no shell: the spec's
    /// `shell: true` makes the arguments `["/bin/sh", "-c", command]`. Exit status 0 passes.
    case exec(arguments: [String])
}

/// One hook as the deployment spec gives it: what to do and how long it may take.
public struct HookSpec: Sendable, Hashable {
    public var action: HookAction
    /// After this long the hook is abandoned (a command is killed) and its outcome is `timedOut`.
    public var timeout: ConfigDuration

    public init(action: HookAction, timeout: ConfigDuration) {
        self.action = action
        self.timeout = timeout
    }
}

/// What a hook is told about the deployment it runs in: an `http` hook's JSON body (snake_case keys:
/// `deployment_id`, `phase`, `listener`, `test_listener`, `production_url`, `test_url`, `target_group`,
/// `live_group`) and an `exec` hook's environment (`TURNOUT_DEPLOYMENT_ID`, `TURNOUT_PHASE`,
/// `TURNOUT_LISTENER`, `TURNOUT_TEST_LISTENER`, `TURNOUT_PRODUCTION_URL`, `TURNOUT_TEST_URL`,
/// `TURNOUT_TARGET_GROUP`, `TURNOUT_LIVE_GROUP`; an absent value leaves its variable unset).
public struct HookContext: Sendable, Hashable {
    /// Names this run of a hook, for `HookRunning.cancel`; unique within the process.
    public var runID: UInt64
    public var deploymentID: String
    /// The lifecycle event the hook runs at: `BeforeInstall`, `Install`, `AfterInstall`, `AfterAllowTestTraffic`,
    /// `BeforeAllowTraffic`, `AfterAllowTraffic` or `Terminate`.
    public var phase: String
    /// The listener whose traffic shifts, and its URL (`http://host:port`).
    public var listener: String
    public var productionURL: String
    /// The test listener and its URL, when the deployment has one.
    public var testListener: String?
    public var testURL: String?
    /// The replacement group, and the group that had the listener's traffic when the deployment started.
    public var targetGroup: String
    public var liveGroup: String

    public init(runID: UInt64, deploymentID: String, phase: String, listener: String, productionURL: String,
                testListener: String?, testURL: String?, targetGroup: String, liveGroup: String) {
        self.runID = runID
        self.deploymentID = deploymentID
        self.phase = phase
        self.listener = listener
        self.productionURL = productionURL
        self.testListener = testListener
        self.testURL = testURL
        self.targetGroup = targetGroup
        self.liveGroup = liveGroup
    }
}

/// How a hook ended. `outputTail` is the last few KiB of a command's standard output and error interleaved
/// (for an `http` hook, the start of the last response's body), kept in the deployment's record.
public enum HookOutcome: Sendable, Hashable {
    case passed(outputTail: String)
    /// `reason` says what failed in a line: `exit status 3`, `killed by signal 9`, `HTTP 500`,
    /// `connection refused`, `cannot start ./smoke.sh: No such file or directory`.
    case failed(reason: String, outputTail: String)
    case timedOut(outputTail: String)
}

/// Runs the deployment's hooks off the control thread. The deployment engine calls it on the control
/// thread and waits for the outcome as an event: nothing blocks the control thread or a worker while a
/// hook runs.
public protocol HookRunning: AnyObject {
    /// Starts `hook`; `completion` gets its outcome exactly once, on the control thread and never from
    /// within `start`, unless the run is cancelled first. The runner enforces `hook.timeout`.
    func start(_ hook: HookSpec, context: HookContext, completion: @escaping (HookOutcome) -> Void)
    /// Abandons the run `runID` (a command is killed) without an outcome; nothing happens when it has ended.
    func cancel(runID: UInt64)
}
