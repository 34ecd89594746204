/// How the state store's health shows: the answer to a change that could not be saved, `/healthz`
/// and the status while the journal is unsound, and the retries that repair it.
extension ControlPlane {
    /// How often an unsound journal's repair is retried.
    static let repairInterval: UInt64 = 1_000_000_000

    /// The refusal of a change whose journal record could not be written (nothing was published).
    func refusal(for error: StateStoreError) -> AdminFailure {
        stateNotSaved(error)
        switch error {
        case .unsound(let problem):
            return .unsound("changes are refused until the state journal is repaired: \(problem)")
        case .unavailable(let store, let reason):
            // A transaction whose answer was lost may have been committed: the instances apply it once etcd answers.
            return .storeUnavailable("\(store) cannot be reached (\(reason)); the change is not in force, and changes are "
                + "refused until etcd answers (serving goes on with the state last applied); if etcd committed it before "
                + "the connection failed, every instance applies it then, so reread the status before retrying")
        case .conflict(let problem):
            return .stale(problem)
        default:
            break
        }
        guard store.problem == nil || store.isShared else {
            return .storage("the change was not applied (\(error)); the state journal could not be cut back to its last "
                + "acknowledged change, so a restart before it is repaired may still apply this one; every change is "
                + "refused until then")
        }
        return .storage("the change could not be saved (\(error)); nothing was changed")
    }

    /// Logs a failed journal append and starts the repair retries if the journal turned unsound (or the shared store
    /// unreachable). While it is, nothing is logged per change: the store said so once.
    func stateNotSaved(_ error: StateStoreError) {
        switch error {
        case .unsound, .unavailable, .conflict: break  // the store logs its own turns; a conflict is the caller's
        default: logger.error("state not saved; change refused: \(error)")
        }
        watchJournal()
    }

    /// While the journal is unsound, retries its repair every `repairInterval`, so that `/healthz`
    /// and the status recover by themselves once the disk does: the cut back first, then a
    /// snapshot of everything acknowledged, after which the journal may start empty (a new file
    /// if it went missing). Failed retries are not logged; the journal said it is unsound.
    func watchJournal() {
        guard store.problem != nil, store.canRepair, !repairScheduled else { return }
        repairScheduled = true
        clock.schedule(after: Self.repairInterval) { [weak self] in
            guard let self else { return }
            repairScheduled = false
            if !store.repair() { compact(reportingFailure: false) }
            watchJournal()
        }
    }

    /// `GET /healthz`: 200 while changes can be saved; 503 while the journal is unsound or the shared store cannot
    /// be reached (serving goes on either way).
    func healthz() -> AdminResponse {
        guard let problem = store.problem else { return .json(200, ["status": "ok"]) }
        if store.isShared {
            return AdminFailure.storeUnavailable("\(store.name) cannot be reached and every change is refused: \(problem)").response
        }
        return AdminFailure.unsound("the state journal is unsound and every change is refused: \(problem)").response
    }

    /// The status's `state_store`: whether changes can be saved, why not, and what start-up
    /// recovery found wrong with the saved files.
    var stateStoreJSON: JSONValue {
        var members = store.statusMembers
        members["sound"] = .bool(store.problem == nil)
        members["problem"] = store.problem.map(JSONValue.string) ?? .null
        members["recovery"] = recoveryDamage.map(JSONValue.string) ?? .null
        return .object(members)
    }
}
