import Logging

/// Rebuilds the saved state at start-up: the snapshot, then every journal record after
/// it. Afterwards the caller compacts, so the journal starts empty.
public enum StateRecovery {
    public enum Outcome: Equatable, Sendable {
        case absent
        case recovered(PersistedState, replayed: Int)
        case corrupt(reason: String)
    }

    public static func recover(store: StateStore, journal: StateJournal, logger: Logger) -> Outcome {
        var state: PersistedState?
        switch store.load() {
        case .absent:
            break
        case .loaded(let snapshot):
            state = snapshot
        case .corrupt(let reason, let movedTo):
            // The journal alone cannot be trusted without the snapshot it continues.
            let contents = journal.read()
            if !contents.records.isEmpty { _ = try? journal.truncate() }
            return .corrupt(reason: "\(reason)" + (movedTo.map { "; kept aside as \($0)" } ?? ""))
        }
        let contents = journal.read()
        var replayed = 0
        for record in contents.records {
            if let current = state, record.sequence <= current.journalSequence { continue }
            state = record.applied(to: state ?? PersistedState(generation: record.generation))
            replayed += 1
        }
        if let problem = contents.problem {
            logger.critical("journal damaged (\(problem)); using the state up to the last intact change")
        }
        guard let state else { return .absent }
        return .recovered(state, replayed: replayed)
    }
}
