import Foundation
import Glibc
import Logging
import TurnoutPosix

/// The append-only journal beside `state.json`: one line per acknowledged change,
/// `<crc32 hex> <json>\n`, fdatasync'ed before the change is acknowledged. Appending one small
/// line is what keeps an acknowledgement fast; the snapshot (`StateStore`) is rewritten
/// only at compaction, after which the journal is emptied.
///
/// The file only ever holds whole records: a failed append (a write error, a short write on a
/// full disk, a failed fdatasync) is cut back to where the record started, through a fresh
/// descriptor, and that cut is made durable. When even the cut fails the journal is *unsound*:
/// it may end in part of a record, which the next record would run into, so every append is
/// refused (`StateStoreError.unsound`) until a retried cut (`repair`, or `truncate` after a
/// snapshot) succeeds. Logged once each way.
public final class StateJournal {
    public let path: String
    private let directory: String
    private let files: any FileSystem
    private let logger: Logger
    private var fd: Int32 = -1
    /// Where the last whole, durable record ends: the next append starts here, and a failed
    /// one is cut back to it.
    private var length = 0
    /// How much of the file `read()` found whole; anything after it is a torn record.
    private var intactLength: Int?
    /// False when the file must not be cut at all: damage `read()` could not keep aside.
    private var mayCut = true
    /// Why the file may hold bytes past its last whole record; `nil` while the journal is sound.
    public private(set) var problem: String?
    /// Whether `repair` and `truncate` may cut the file (not while it holds damage that could
    /// not be kept aside).
    public var canBeCut: Bool { mayCut }

    public init(directory: String, files: any FileSystem = PosixFileSystem(), logger: Logger) {
        self.directory = directory
        path = directory + "/" + StateDirectory.journalName
        self.files = files
        self.logger = logger
    }

    deinit { closeDescriptor() }

    /// What reading the journal found.
    public struct Contents: Equatable, Sendable {
        public var records: [JournalRecord]
        /// Why reading stopped early, if it did (a torn last line is not a problem).
        public var problem: String?
    }

    /// Reads every intact record. A torn last line (a crash mid-append, never acknowledged)
    /// is dropped quietly and cut off before the next append; a bad line before the end stops
    /// the read and is reported, and the file is kept aside as `journal.log.corrupt-<unix seconds>`.
    /// A file that cannot be read, or kept aside, is left as it is and the journal is unsound.
    public func read() -> Contents {
        closeDescriptor()
        let bytes: [UInt8]
        do {
            guard let contents = try files.readIfPresent(path) else {
                intactLength = 0
                return Contents(records: [])
            }
            bytes = contents
        } catch {
            markUnsound("it cannot be read (\(error)); it is left as it is", mayCut: false)
            return Contents(records: [], problem: "\(error)")
        }
        var records: [JournalRecord] = []
        var start = 0
        while start < bytes.count {
            let newline = bytes[start...].firstIndex(of: 0x0A)
            let isLast = newline == nil || newline! + 1 == bytes.count
            guard let newline, let record = decode(bytes[start..<newline]) else {
                if isLast {
                    logger.warning("journal: dropping a torn last record (a crash during an unacknowledged change)")
                    break
                }
                return keepAside(records, reason: "record \(records.count + 1) is corrupt")
            }
            records.append(record)
            start = newline + 1
        }
        intactLength = start
        return Contents(records: records)
    }

    private func keepAside(_ records: [JournalRecord], reason: String) -> Contents {
        do {
            let aside = try files.moveAside(path, directory: directory)
            intactLength = 0
            logger.critical("JOURNAL IS CORRUPT: \(reason); kept aside as \(aside)")
            return Contents(records: records, problem: "\(reason); kept aside as \(aside)")
        } catch {
            markUnsound("\(reason) and it cannot be kept aside (\(error)); it is left as it is", mayCut: false)
            return Contents(records: records, problem: "\(reason); it cannot be kept aside: \(error)")
        }
    }

    private func decode(_ line: ArraySlice<UInt8>) -> JournalRecord? {
        guard line.count > 9, line[line.startIndex + 8] == 0x20 else { return nil }
        let checksum = String(decoding: line.prefix(8), as: UTF8.self)
        let json = line.dropFirst(9)
        guard CRC32.hex(CRC32.checksum(json)) == checksum else { return nil }
        return try? JournalRecord(json: JSONReader.parse(Array(json)))
    }

    /// Opens (creating) the file for appending, so that a journal that cannot be written is
    /// found at start rather than at the first change.
    public func open() throws(StateStoreError) {
        _ = try openForAppend()
    }

    /// Appends `record` and makes it durable (fdatasync) before returning. On a failure the
    /// file is as it was before the call, or the journal is unsound (`problem`).
    public func append(_ record: JournalRecord) throws(StateStoreError) {
        if let problem, !repair() { throw .unsound(problem) }
        let json = record.jsonValue.jsonBytes
        var line = Array(CRC32.hex(CRC32.checksum(json)).utf8)
        line.append(0x20)
        line += json
        line.append(0x0A)
        let fd = try openForAppend()
        let start = length
        do throws(SystemError) {
            try files.writeAll(fd, line)
            try files.fdatasync(fd)
        } catch {
            let failure = FileError(error, path: path)
            // Part of the line may be in the file, and after a failed fdatasync the page cache no
            // longer says what is on disk (PostgreSQL's fsyncgate): cut back through a fresh descriptor.
            do {
                try cut(to: start)
            } catch let cutFailure {
                markUnsound("\(failure), and cutting it back to \(start) bytes failed: \(cutFailure)")
            }
            throw .file(failure)
        }
        length = start + line.count
    }

    /// Tries again to cut the file back to its last whole record; true when the journal is sound.
    @discardableResult
    public func repair() -> Bool {
        guard let problem else { return true }
        guard mayCut else { return false }
        do {
            try cut(to: length)
        } catch {
            return false
        }
        self.problem = nil
        logger.notice("state journal is sound again (cut back to its last whole record); changes are accepted",
                      metadata: ["path": "\(path)", "was": "\(problem)"])
        return true
    }

    /// Empties the journal once a snapshot holds everything in it.
    public func truncate() throws(StateStoreError) {
        guard mayCut else { throw .unsound(problem ?? "it must be kept as it is") }
        let wasUnsound = problem
        do {
            try cut(to: 0)
        } catch {
            length = 0  // the snapshot holds every record: an empty file is what a repair makes now
            markUnsound("emptying it after a snapshot failed: \(error)")
            throw .file(error)
        }
        if let wasUnsound {
            problem = nil
            logger.notice("state journal is sound again (emptied after a snapshot); changes are accepted",
                          metadata: ["path": "\(path)", "was": "\(wasUnsound)"])
        }
    }

    private func openForAppend() throws(StateStoreError) -> Int32 {
        if fd >= 0 { return fd }
        do {
            try files.makeDirectories(directory)
        } catch {
            throw .file(error)
        }
        let created = !files.exists(path)
        do {
            fd = try files.open(path, flags: O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, mode: 0o600)
            length = try files.size(fd)
        } catch {
            closeDescriptor()
            throw .file(FileError(error, path: path))
        }
        do {
            // A new directory entry is durable only once the directory is synced.
            if created { try files.syncDirectory(directory) }
            // A torn last record would run into the next one.
            if let intact = intactLength, length > intact, mayCut {
                logger.warning("journal: cutting off a torn last record", metadata: ["path": "\(path)", "bytes": .stringConvertible(length - intact)])
                try cut(to: intact)
            }
        } catch {
            closeDescriptor()
            throw .file(error)
        }
        return fd
    }

    /// Cuts the file to `target` bytes through a fresh descriptor, makes that durable and checks
    /// it held. After a failed write or fdatasync the old descriptor may carry a consumed error
    /// and the page cache may not match the disk, so neither is trusted.
    private func cut(to target: Int) throws(FileError) {
        closeDescriptor()
        do throws(SystemError) {
            let fresh = try files.open(path, flags: O_WRONLY | O_APPEND | O_CLOEXEC | (target == 0 ? O_CREAT : 0), mode: 0o600)
            fd = fresh
            try files.ftruncate(fresh, length: target)
            try files.fsync(fresh)
            // The cut did not hold if the size is not what was asked for.
            guard try files.size(fresh) == target else { throw SystemError("ftruncate", errno: EIO) }
            length = target
        } catch {
            closeDescriptor()
            throw FileError(error, path: path)
        }
    }

    private func markUnsound(_ reason: String, mayCut: Bool = true) {
        self.mayCut = self.mayCut && mayCut
        if problem == nil {
            logger.critical("STATE JOURNAL IS UNSOUND: \(reason); every change is refused until it is repaired",
                            metadata: ["path": "\(path)"])
        }
        problem = reason
    }

    private func closeDescriptor() {
        if fd >= 0 { try? files.close(fd) }
        fd = -1
    }
}
