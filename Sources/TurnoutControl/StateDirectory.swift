import Glibc
import TurnoutPosix

/// `state_dir`: the names of its files, and how a damaged file is kept aside.
public enum StateDirectory {
    /// The snapshot (`StateStore`).
    static let snapshotName = "state.json"
    /// The journal (`StateJournal`).
    static let journalName = "journal.log"
}

extension FileSystem {
    /// Renames `path` to `<path>.corrupt-<unix seconds>` (`-<n>` added when that name is taken)
    /// and syncs `directory`; the new path. Damaged state is kept, never deleted.
    func moveAside(_ path: String, directory: String) throws(FileError) -> String {
        let seconds = AuditTimestamp.nowMilliseconds() / 1000
        var destination = "\(path).corrupt-\(seconds)"
        var attempt = 1
        while exists(destination) {
            destination = "\(path).corrupt-\(seconds)-\(attempt)"
            attempt += 1
        }
        do {
            try rename(path, to: destination)
        } catch {
            throw FileError(error, path: path)
        }
        try? syncDirectory(directory)
        return destination
    }
}
