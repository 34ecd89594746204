import TurnoutCore

/// `POST /v1/deployments`, `GET /v1/deployments[/{id}[/report]]`, `POST /v1/deployments/{id}/{action}`, and
/// what the deployment runner needs of the plane: its routing changes made through `commit`, the
/// replacement's readiness, a hook's context.
extension ControlPlane {
    /// The actions `POST /v1/deployments/{id}/{action}` takes.
    static let deploymentActions: Set<String> = ["promote", "rollback", "pause", "resume", "approve", "stop"]

    /// `POST /v1/deployments`: 201 with the deployment; 400 naming the field of a bad spec; 409 with the id of
    /// the deployment already in progress on the listener (through whichever instance of a fleet). With a fleet's
    /// store, the instance that takes the request runs the deployment: it takes the listener's runner lock first
    /// (409 when another instance holds it). With an `Idempotency-Key`, a retry gets the first 201 again (and starts
    /// nothing); the key with another body, 422.
    func postDeployment(_ request: AdminRequest) throws(AdminFailure) -> AdminResponse {
        try request.allowOnlyQuery([])
        let body = try JSONValue.parseBody(request.body)
        // Before the spec is checked: the listener's split in the middle of a deployment is no live group.
        if let active = deployments.active(on: body["listener"]?.stringValue ?? "production") { throw Self.busy(active) }
        let spec: DeploymentSpec
        let live: String
        do {
            spec = try DeploymentSpec.parse(body, table: table)
            live = try DeploymentSpec.liveGroup(of: spec.listener, rule: spec.rule, in: table)
        } catch {
            throw .badRequest("deployment spec: \(error)")
        }
        if deployments.hooks == nil, spec.install != nil || spec.terminate != nil || !spec.hooks.isEmpty {
            throw .invalid("this proxy runs no hooks: the spec's install, terminate and hooks cannot run")
        }
        if let locks = runnerLocks { try takeRunnerLock(locks, listener: spec.listener) }
        let state = deployments.start(spec: spec, source: body, liveGroup: live)
        if let locks = runnerLocks, deployments.deployment(state.id) == nil {
            // The fleet's store refused its first change: nothing of it happened, and the lock goes.
            locks.releaseRunnerLock(listener: spec.listener)
            throw store.problem.map { .storeUnavailable("\(store.name) cannot be reached (\($0)); the deployment did not start") }
                ?? .stale("the shared state changed through another instance while the deployment started: it did not; retry")
        }
        let response = AdminResponse.json(201, state.json, headers: [("Location", "/v1/deployments/\(state.id)")])
        // Its routing changes are the deployment's, not this request's: the reply is kept for a retry on its own.
        recordIdempotentReply(response)
        return response
    }

    /// Makes this instance the runner of `listener`'s deployments across the fleet, or says who is.
    private func takeRunnerLock(_ locks: any RunnerLocking, listener: String) throws(AdminFailure) {
        let taken: Bool
        do {
            taken = try locks.takeRunnerLock(listener: listener)
        } catch {
            throw refusal(for: error)
        }
        guard !taken else { return }
        guard let runner = locks.runner(of: listener) else {
            throw .stale("the shared state changed through another instance since this instance read it: retry")
        }
        throw .conflict("a deployment is in progress on '\(listener)', run by instance \(runner.instance) (admin API at "
            + "\(runner.address))")
    }

    private static func busy(_ active: DeploymentState) -> AdminFailure {
        AdminFailure(status: 409, code: .conflict,
                     message: "deployment \(active.id) is in progress on '\(active.spec.listener)' (\(active.status.rawValue))")
    }

    /// `GET /v1/deployments`: those in progress and the last finished ones, newest first.
    func getDeployments(_ request: AdminRequest) throws(AdminFailure) -> AdminResponse {
        try request.allowOnlyQuery([])
        return .json(200, ["deployments": .array(deployments.all.map(\.json))])
    }

    func getDeployment(_ id: String) throws(AdminFailure) -> AdminResponse {
        guard let state = deployments.deployment(id) else { throw .notFound("no deployment '\(id)'") }
        return .json(200, state.json)
    }

    /// `POST /v1/deployments/{id}/{action}`: 200 with the deployment; 409 when its status does not allow it.
    func postDeploymentAction(_ request: AdminRequest, id: String, action: String) throws(AdminFailure) -> AdminResponse {
        try request.allowOnlyQuery([])
        guard Self.deploymentActions.contains(action) else { throw .notFound("no deployment action '\(action)'") }
        _ = try JSONValue.parseBody(request.body).members("the body", allowed: [])
        return .json(200, try deployments.act(id, action).json)
    }

    /// `GET /v1/deployments/{id}/report`: the reports of its routing changes and their totals.
    func getDeploymentReport(_ id: String) throws(AdminFailure) -> AdminResponse {
        guard let state = deployments.deployment(id) else { throw .notFound("no deployment '\(id)'") }
        let generations = state.generations
        let steps = generations.compactMap { reports.report(generation: $0) }
        var summary = state.eventJSON
        summary["strategy"] = .string(state.spec.strategy.name)
        summary["alarms"] = .array(state.alarms.map(\.json))
        summary["generations"] = .array(generations.map { .int(Int64($0)) })
        return .json(200, DeploymentReport(summary: summary, steps: steps).json)
    }

    // MARK: - For the runner

    /// Makes `change` one acknowledged routing change (journal, audit, generation, report); returns the
    /// generation it made, nil when the table already routed so.
    func commitDeploymentRouting(_ change: DeploymentRouting, of state: DeploymentState) throws(AdminFailure) -> UInt64? {
        let spec = state.spec
        var forwards: [String: [WeightedGroup]] = [:]
        var ruleForwards: [String: [String: [WeightedGroup]]] = [:]
        if let weight = change.replacementWeight {
            let forward = weight >= 100 ? [WeightedGroup(group: spec.targetGroup, weight: 100)]
                : weight <= 0 ? [WeightedGroup(group: state.liveGroup, weight: 100)]
                : [WeightedGroup(group: state.liveGroup, weight: 100 - weight), WeightedGroup(group: spec.targetGroup, weight: weight)]
            if let rule = spec.rule { ruleForwards[spec.listener] = [rule: forward] } else { forwards[spec.listener] = forward }
        }
        if let test = change.test, let listener = spec.testListener {
            let forward = [WeightedGroup(group: test == .replacement ? spec.targetGroup : state.liveGroup, weight: 100)]
            // A rule's deployment moves the test listener's copy of that rule (a test listener follows its
            // production listener's rules), else the test listener's own forward.
            if let rule = spec.rule, let index = table.listenerIndex(named: listener),
               table.listeners[index].ruleIndex(named: rule) != nil {
                ruleForwards[listener, default: [:]][rule] = forward
            } else {
                forwards[listener] = forward
            }
        }
        var next = table
        var diff: [String: JSONValue] = [:]
        do {
            if !change.register.isEmpty || !change.deregister.isEmpty, let index = table.groupIndex(named: spec.targetGroup) {
                let before = table.groups[index].registered
                let after = (before + change.register.filter { !before.contains($0) }).filter { !change.deregister.contains($0) }
                next = try next.replacingTargets([spec.targetGroup: after])
                diff["target_groups"] = [spec.targetGroup: [
                    "before": .array(before.map { .string($0.description) }), "after": .array(after.map { .string($0.description) }),
                ]]
            }
            if !forwards.isEmpty {
                next = try next.replacingForward(forwards, generation: next.generation == table.generation ? nil : next.generation)
                var listeners: [String: JSONValue] = [:]
                for name in forwards.keys.sorted() {
                    listeners[name] = ["before": forwardJSON(table, listener: name), "after": forwardJSON(next, listener: name)]
                }
                diff["listeners"] = .object(listeners)
            }
            if !ruleForwards.isEmpty {
                next = try next.replacingRuleForwards(ruleForwards,
                                                      generation: next.generation == table.generation ? nil : next.generation)
                var rules: [String: JSONValue] = [:]
                for (listener, byRule) in ruleForwards {
                    rules[listener] = .object(Dictionary(uniqueKeysWithValues: byRule.keys.map { rule in
                        (rule, ["before": ruleForwardJSON(table, listener: listener, rule: rule),
                                "after": ruleForwardJSON(next, listener: listener, rule: rule)] as JSONValue)
                    }))
                }
                diff["rules"] = .object(rules)
            }
        } catch let error as ConfigError {
            throw .invalid(error.message)
        } catch {
            throw .invalid("\(error)")
        }
        if next.routesLike(table) { return nil }
        var request: [String: JSONValue] = ["deployment": .string(state.id), "phase": .string(state.phase.rawValue)]
        if let step = state.position?.step, state.status != .rollingBack { request["step"] = .int(Int64(step + 1)) }
        if state.status == .rollingBack { request["rollback"] = true }
        // Through the drains' path: the targets a rollback deregisters finish their requests.
        _ = try commitDraining(next, action: "deployment", caller: "deployment \(state.id)", request: .object(request),
                               diff: .object(diff))
        return next.generation
    }

    /// How many of `group`'s registered targets may take traffic now, of how many.
    func readiness(of group: String) -> (healthy: Int, total: Int) {
        guard let index = table.groupIndex(named: group) else { return (0, 0) }
        let targets = table.groups[index].targets
        let healthy = targets.filter { health.health(group: group, target: $0)?.isRoutable ?? true }.count
        return (healthy, targets.count)
    }

    /// Which of `targets` `group` does not have registered: those a deployment's registration adds.
    func targetsNotRegistered(_ targets: [HostPort], in group: String) -> [HostPort] {
        guard let index = table.groupIndex(named: group) else { return [] }
        return targets.filter { !table.groups[index].registered.contains($0) }
    }

    /// How many of `group`'s targets are unhealthy now.
    func unhealthyTargets(of group: String) -> Int {
        guard let index = table.groupIndex(named: group) else { return 0 }
        return table.groups[index].targets.filter { health.health(group: group, target: $0)?.state == .unhealthy }.count
    }

    /// What a hook of `state` is told.
    func hookContext(run: UInt64, phase: DeploymentPhase, of state: DeploymentState) -> HookContext {
        HookContext(runID: run, deploymentID: state.id, phase: phase == .retire ? "Terminate" : phase.rawValue,
                    listener: state.spec.listener, productionURL: listenerURL(state.spec.listener) ?? "",
                    testListener: state.spec.testListener, testURL: state.spec.testListener.flatMap(listenerURL),
                    targetGroup: state.spec.targetGroup, liveGroup: state.liveGroup)
    }

    /// `http://host:port` of a listener as bound (a wildcard bind is reached on the loopback address).
    func listenerURL(_ name: String) -> String? {
        guard let index = table.listenerIndex(named: name) else { return nil }
        let bind = table.listeners[index].bind
        let host = bind.isWildcard ? "127.0.0.1" : bind.host
        let port = dataPlane.boundPorts[name] ?? bind.port
        return "http://\(host.contains(":") ? "[\(host)]" : host):\(port)"
    }
}
