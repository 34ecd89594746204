import Logging
import TurnoutPosix

/// The durable state file, `<directory>/state.json`.
///
/// `save` returns only once the new state is on disk (written to `state.json.tmp`, fsynced,
/// renamed over `state.json`, directory fsynced). A crash or a failed write at any point
/// leaves either the previous or the new state file, never a mix; a failure before the rename
/// leaves the previous one and no temporary file. The file format is described on
/// `StateFileEnvelope`.
public final class StateStore {
    /// The directory holding the state file.
    public let directory: String
    /// `<directory>/state.json`.
    public let path: String
    private let temporaryPath: String
    private let files: any FileSystem
    private let logger: Logger
    /// Set when a corrupt state file could not be moved aside: `save` must not replace it
    /// until it has been.
    private var corruptFileInPlace = false

    public init(directory: String, files: any FileSystem = PosixFileSystem(), logger: Logger) {
        self.directory = directory
        path = directory + "/" + StateDirectory.snapshotName
        temporaryPath = path + ".tmp"
        self.files = files
        self.logger = logger
    }

    /// Reads the state file. A file that cannot be read or fails verification is renamed to
    /// `state.json.corrupt-<unix seconds>` and reported at error level; the caller then
    /// recovers from what else there is (the journal, the configuration) and the next `save`
    /// writes a fresh file.
    public func load() -> StateLoadResult {
        removeUnfinishedWrite()
        let file: [UInt8]
        do {
            guard let contents = try files.readIfPresent(path) else { return .absent }
            file = contents
        } catch {
            return moveAside(reason: "unreadable: \(error)")
        }
        switch StateFileEnvelope.decode(file) {
        case .success(let state):
            logger.info("loaded the state file", metadata: ["path": "\(path)", "generation": .stringConvertible(state.generation)])
            return .loaded(state)
        case .failure(let failure):
            return moveAside(reason: failure.reason)
        }
    }

    /// Writes `state` durably, creating the directory (mode 0700) if needed.
    public func save(_ state: PersistedState) throws(StateStoreError) {
        if corruptFileInPlace {
            guard let destination = try? files.moveAside(path, directory: directory) else {
                throw .unusable(path: path, reason: "is corrupt and cannot be moved aside, so it is not replaced")
            }
            corruptFileInPlace = false
            logger.notice("moved the corrupt state file aside", metadata: ["moved_to": "\(destination)"])
        }
        let bytes = try StateFileEnvelope.encode(state)
        do throws(FileError) {
            try files.makeDirectories(directory)
            try files.replaceDurably(path, with: bytes, via: temporaryPath, directory: directory)
        } catch {
            throw .file(error)
        }
    }

    /// A temporary file is what a crash during `save` leaves; the state file beside it is
    /// still the last complete one.
    private func removeUnfinishedWrite() {
        guard files.exists(temporaryPath) else { return }
        do {
            try files.unlink(temporaryPath)
            logger.warning("removed an unfinished state write", metadata: ["path": "\(temporaryPath)"])
        } catch {
            logger.warning("cannot remove an unfinished state write", metadata: [
                "path": "\(temporaryPath)", "error": "\(error)",
            ])
        }
    }

    private func moveAside(reason: String) -> StateLoadResult {
        do {
            let destination = try files.moveAside(path, directory: directory)
            logger.error("STATE FILE IS CORRUPT; moved it aside", metadata: [
                "path": "\(path)", "reason": "\(reason)", "moved_to": "\(destination)",
            ])
            return .corrupt(reason: reason, movedTo: destination)
        } catch {
            corruptFileInPlace = true
            logger.error("STATE FILE IS CORRUPT and could not be moved aside", metadata: [
                "path": "\(path)", "reason": "\(reason)", "rename_error": "\(error)",
            ])
            return .corrupt(reason: "\(reason); cannot move it aside: \(error)", movedTo: nil)
        }
    }
}

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

/// Why the state could not be written (or, at start, why `state_dir` cannot hold it).
public enum StateStoreError: Error, Sendable, CustomStringConvertible {
    /// A system call on a state file failed.
    case file(FileError)
    /// The state could not be encoded as JSON (a non-finite number in a `JSONValue`).
    case encoding(String)
    /// The journal may hold part of a record that could not be cut away, so nothing can be
    /// appended after it until it is; says why.
    case unsound(String)
    /// `path` cannot hold state at all (a file where a directory belongs, or the reverse).
    case unusable(path: String, reason: String)
    /// A shared store (`store`: etcd) could not be reached; nothing of the change was kept.
    case unavailable(store: String, reason: String)
    /// Another instance changed the shared state since this one last applied it; says what to do.
    case conflict(String)

    public var description: String {
        switch self {
        case .file(let error): "\(error)"
        case .encoding(let reason): "cannot encode the state: \(reason)"
        case .unsound(let problem): "the state journal is unsound: \(problem)"
        case .unusable(let path, let reason): "\(path) \(reason)"
        case .unavailable(let store, let reason): "\(store) cannot be reached: \(reason)"
        case .conflict(let problem): problem
        }
    }
}
