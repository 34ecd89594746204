/// What `StateStore.load()` found.
public enum StateLoadResult: Equatable, Sendable {
    /// No state file: start from the configuration.
    case absent
    /// A valid state file.
    case loaded(PersistedState)
    /// The state file could not be read or failed verification. It was renamed to
    /// `movedTo` (`nil` when even that failed; `reason` then says why, and the store will not
    /// replace the file until it has moved it aside).
    case corrupt(reason: String, movedTo: String?)
}
