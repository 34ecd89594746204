import Glibc
import Logging

/// The durable state file, `<directory>/state.json`.
///
/// `save` returns only once the new state is on disk (written to `state.json.tmp`, fsynced,
/// renamed over `state.json`, directory fsynced), so a mutation's reply can follow it. A crash
/// at any point leaves either the previous or the new state file. The file format is described
/// on `StateFileEnvelope`.
public final class StateStore {
    /// The directory holding the state file.
    public let directory: String
    /// `<directory>/state.json`.
    public let path: String
    private let temporaryPath: String
    private let logger: Logger

    public init(directory: String, logger: Logger) {
        self.directory = directory
        path = directory + "/state.json"
        temporaryPath = path + ".tmp"
        self.logger = logger
    }

    /// Reads the state file. A file that cannot be read or fails verification is renamed to
    /// `state.json.corrupt-<unix seconds>` and reported at error level; the caller then starts
    /// from the configuration and the next `save` writes a fresh file.
    public func load() -> StateLoadResult {
        removeUnfinishedWrite()
        let file: [UInt8]
        do {
            guard let contents = try StateFileSystem.readIfPresent(path) else { return .absent }
            file = contents
        } catch {
            return moveAside(reason: "unreadable: \(error)")
        }
        switch StateFileEnvelope.decode(file) {
        case .success(let state):
            logger.info("loaded the state file", metadata: ["path": "\(path)", "generation": "\(state.generation)"])
            return .loaded(state)
        case .failure(let failure):
            return moveAside(reason: failure.reason)
        }
    }

    /// Writes `state` durably, creating the directory (mode 0700) if needed.
    public func save(_ state: PersistedState) throws(StateStoreError) {
        try StateFileSystem.makeDirectories(directory)
        let bytes = try StateFileEnvelope.encode(state)
        try StateFileSystem.replaceDurably(path, with: bytes, via: temporaryPath, directory: directory)
    }

    /// A temporary file is what a crash during `save` leaves; the state file beside it is
    /// still the last complete one.
    private func removeUnfinishedWrite() {
        guard StateFileSystem.exists(temporaryPath) else { return }
        if unlink(temporaryPath) == 0 {
            logger.warning("removed an unfinished state write", metadata: ["path": "\(temporaryPath)"])
        } else {
            let err = errno
            logger.warning("cannot remove an unfinished state write", metadata: [
                "path": "\(temporaryPath)", "error": "\(String(cString: strerror(err)))",
            ])
        }
    }

    private func moveAside(reason: String) -> StateLoadResult {
        let seconds = AuditTimestamp.nowMilliseconds() / 1000
        var destination = "\(path).corrupt-\(seconds)"
        var attempt = 1
        while StateFileSystem.exists(destination) {
            destination = "\(path).corrupt-\(seconds)-\(attempt)"
            attempt += 1
        }
        guard rename(path, destination) == 0 else {
            let problem = String(cString: strerror(errno))
            logger.error("STATE FILE IS CORRUPT and could not be moved aside; starting from the configuration", metadata: [
                "path": "\(path)", "reason": "\(reason)", "rename_error": "\(problem)",
            ])
            return .corrupt(reason: "\(reason); cannot move it aside: \(problem)", movedTo: nil)
        }
        try? StateFileSystem.syncDirectory(directory)
        logger.error("STATE FILE IS CORRUPT; moved it aside and starting from the configuration", metadata: [
            "path": "\(path)", "reason": "\(reason)", "moved_to": "\(destination)",
        ])
        return .corrupt(reason: reason, movedTo: destination)
    }
}
