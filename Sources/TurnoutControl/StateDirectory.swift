import Glibc
import TurnoutPosix

/// `state_dir`: the names of its files, the start-up check that it can hold them, and how a
/// damaged file is kept aside.
public enum StateDirectory {
    /// The snapshot (`StateStore`).
    static let snapshotName = "state.json"
    /// The journal (`StateJournal`).
    static let journalName = "journal.log"

    /// Fails unless `directory` can hold the state: it is a directory this process may write
    /// (created with mode 0700 when `create` is set and it is missing; otherwise its nearest
    /// existing parent must be such a directory), and its snapshot and journal, where they
    /// exist, are regular files this process may read and write. `serve` runs this before
    /// binding anything; `check` runs it without creating anything.
    public static func check(_ directory: String, create: Bool, files: any FileSystem = PosixFileSystem())
        throws(StateStoreError)
    {
        let kind = files.kind(of: directory)
        if kind == nil && !create { return try checkCreatable(directory, files: files) }
        if let kind, kind != .directory { throw .unusable(path: directory, reason: "is not a directory") }
        let paths = [snapshotName, journalName].map { directory + "/" + $0 }
        for path in paths {
            switch files.kind(of: path) {
            case .directory?: throw .unusable(path: path, reason: "is a directory, not a file")
            case .other?: throw .unusable(path: path, reason: "is not a regular file")
            case .regular?, nil: continue
            }
        }
        do throws(FileError) {
            if kind == nil { try files.makeDirectories(directory) }
            try files.checkAccess(directory, W_OK | X_OK)
            for path in paths where files.kind(of: path) == .regular { try files.checkAccess(path, R_OK | W_OK) }
        } catch {
            throw .file(error)
        }
    }

    /// A missing `directory` can be made when its nearest existing parent is a writable directory.
    private static func checkCreatable(_ directory: String, files: any FileSystem) throws(StateStoreError) {
        var parent = directory
        while true {
            guard let slash = parent.lastIndex(of: "/") else {
                parent = "."
                break
            }
            parent = slash == parent.startIndex ? "/" : String(parent[..<slash])
            if parent == "/" || files.kind(of: parent) != nil { break }
        }
        guard files.kind(of: parent) == .directory else {
            throw .unusable(path: parent, reason: "is not a directory (state_dir \(directory) would be made in it)")
        }
        do {
            try files.checkAccess(parent, W_OK | X_OK)
        } catch {
            throw .file(error)
        }
    }
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
