import Foundation
import Glibc
import Logging
import TurnoutPosix

/// The append-only journal beside `state.json`: one line per acknowledged change,
/// `<crc32 hex> <json>\n`, fsynced before the change is acknowledged. Appending one small
/// line is what keeps an acknowledgement fast; the snapshot (`StateStore`) is rewritten
/// only at compaction, after which the journal is truncated.
public final class StateJournal {
    public let path: String
    private let directory: String
    private let files: any FileSystem
    private let logger: Logger
    private var fd: Int32 = -1

    public init(directory: String, files: any FileSystem = PosixFileSystem(), logger: Logger) {
        self.directory = directory
        path = directory + "/" + StateDirectory.journalName
        self.files = files
        self.logger = logger
    }

    deinit { if fd >= 0 { try? files.close(fd) } }

    /// What reading the journal found.
    public struct Contents: Equatable, Sendable {
        public var records: [JournalRecord]
        /// Why reading stopped early, if it did (a torn last line is not a problem).
        public var problem: String?
    }

    /// Reads every intact record. A torn last line (a crash mid-append, never
    /// acknowledged) is dropped quietly; a bad line before the end stops the read and is
    /// reported, and the file is kept aside as `journal.log.corrupt-<unix seconds>`.
    public func read() -> Contents {
        let bytes: [UInt8]
        do {
            guard let contents = try files.readIfPresent(path) else { return Contents(records: []) }
            bytes = contents
        } catch {
            return Contents(records: [], problem: "\(error)")
        }
        var records: [JournalRecord] = []
        let lines = bytes.split(separator: 0x0A)
        for (index, line) in lines.enumerated() {
            let isLast = index == lines.count - 1
            guard let record = decode(Array(line)) else {
                if isLast {
                    logger.warning("journal: dropping a torn last record (a crash during an unacknowledged change)")
                    break
                }
                guard let aside = try? files.moveAside(path, directory: directory) else {
                    logger.critical("JOURNAL IS CORRUPT at record \(records.count + 1) and cannot be kept aside")
                    return Contents(records: records, problem: "record \(records.count + 1) is corrupt")
                }
                logger.critical("JOURNAL IS CORRUPT at record \(records.count + 1); kept aside as \(aside)")
                return Contents(records: records, problem: "record \(records.count + 1) is corrupt; kept aside as \(aside)")
            }
            records.append(record)
        }
        return Contents(records: records)
    }

    private func decode(_ line: [UInt8]) -> JournalRecord? {
        guard line.count > 9, line[8] == 0x20 else { return nil }
        let checksum = String(decoding: line[0..<8], as: UTF8.self)
        let json = Array(line[9...])
        guard CRC32.hex(CRC32.checksum(json)) == checksum else { return nil }
        return try? JSONDecoder().decode(JournalRecord.self, from: Data(json))
    }

    /// Appends `record` and makes it durable (fdatasync) before returning.
    public func append(_ record: JournalRecord) throws(StateStoreError) {
        let json = record.jsonValue.jsonBytes
        var line = Array(CRC32.hex(CRC32.checksum(json)).utf8)
        line.append(0x20)
        line += json
        line.append(0x0A)
        let fd = try openForAppend()
        do throws(SystemError) {
            try files.writeAll(fd, line)
            try files.fdatasync(fd)
        } catch {
            throw .file(FileError(error, path: path))
        }
    }

    /// Empties the journal once a snapshot holds everything in it.
    public func truncate() throws(StateStoreError) {
        let fd = try openForAppend()
        do throws(SystemError) {
            try files.ftruncate(fd, length: 0)
            try files.fsync(fd)
        } catch {
            throw .file(FileError(error, path: path))
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
        } catch {
            throw .file(FileError(error, path: path))
        }
        // A new directory entry is durable only once the directory is synced.
        if created {
            do {
                try files.syncDirectory(directory)
            } catch {
                throw .file(error)
            }
        }
        return fd
    }
}
