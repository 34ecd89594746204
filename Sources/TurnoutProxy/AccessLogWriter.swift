import Glibc
import Logging
import Synchronization
import TurnoutCore
import TurnoutPosix

/// The access logs' files and the thread that writes them: every worker appends its lines to a ring of its own
/// per file (`AccessLogRing`), and this thread writes what the rings hold every `interval`, in batches (one
/// `write` per ring span), so a worker never makes a system call for its access log. Files are opened
/// non-blocking: what a FIFO nobody reads does not take stays in its rings for the next pass (the other files
/// go on being written), and a worker whose ring is full drops its lines and counts them: nobody waits.
///
/// `reopen` (SIGUSR1, `POST /v1/logs/reopen`; for logrotate) opens every path again on the calling thread and
/// hands the new descriptors over; the writer closes the old ones after the batch it is writing, so no line is
/// cut in two between the files.
public final class AccessLogWriter: Sendable {
    /// One file: its descriptor, the one `reopen` opened for it and the writer has yet to take, its rings (one per
    /// worker) and what it lost.
    final class File: Sendable {
        let config: AccessLogConfig
        let rings: [AccessLogRing]
        let descriptor: Atomic<Int32>
        let reopened = Atomic<Int32>(-1)
        /// Lines the writer could not write (a write error such as ENOSPC or EPIPE): given up, counted.
        let failedLines = Atomic<UInt64>(0)
        let writtenLines = Atomic<UInt64>(0)

        init(config: AccessLogConfig, descriptor: Int32, workers: Int, ringCapacity: Int) {
            self.config = config
            self.descriptor = Atomic(descriptor)
            rings = (0..<workers).map { _ in AccessLogRing(capacity: ringCapacity) }
        }
    }

    /// What one file did, for `/metrics` and the status.
    public struct Figures: Sendable {
        public let path: String
        public let writtenLines: UInt64
        /// Dropped by the workers because the writer was behind (their ring was full).
        public let droppedLines: UInt64
        /// Given up by the writer on a write error.
        public let failedLines: UInt64
    }

    /// How often the rings are written.
    static let interval = 50
    /// Each worker's ring per file: about 4,000 lines of 250 bytes, 80,000 lines a second per worker between two
    /// batches.
    static let ringCapacity = 1 << 20

    let files: [File]
    private let logger: Logger
    private let stopping = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)

    /// Opens every distinct path of `configs` (appending, created 0640 if missing) for `workers` workers.
    /// Throws naming the path when one cannot be opened.
    public init(configs: [AccessLogConfig], workers: Int, logger: Logger) throws(FileError) {
        var files: [File] = []
        do {
            for config in configs where !files.contains(where: { $0.config.path == config.path }) {
                files.append(File(config: config, descriptor: try Self.open(config.path), workers: workers,
                                  ringCapacity: Self.ringCapacity))
            }
        } catch {
            for file in files { FileIO.close(file.descriptor.load(ordering: .relaxed)) }
            throw error
        }
        self.files = files
        self.logger = logger
    }

    /// The file `config` writes to (by path).
    func file(for config: AccessLogConfig) -> File? { files.first { $0.config.path == config.path } }

    /// Starts the writer thread (`turnout-access`). It is never joined: `stop` waits for it a bounded time.
    public func start() throws(SystemError) {
        _ = try PosixThread(name: "turnout-access") { [self] in run() }
    }

    /// Opens every file again (after logrotate renamed them); returns their paths. A path that cannot be opened
    /// keeps its old descriptor and fails the call, naming it; the others are reopened.
    public func reopen() throws(FileError) -> [String] {
        var failure: FileError?
        for file in files {
            do {
                let fd = try Self.open(file.config.path)
                let previous = file.reopened.exchange(fd, ordering: .acquiringAndReleasing)
                if previous >= 0 { FileIO.close(previous) }
            } catch {
                failure = failure ?? error
            }
        }
        if let failure { throw failure }
        return files.map(\.config.path)
    }

    /// What each file did so far.
    public var figures: [Figures] {
        files.map { file in
            Figures(path: file.config.path, writtenLines: file.writtenLines.load(ordering: .relaxed),
                    droppedLines: file.rings.reduce(0) { $0 + $1.dropped.load(ordering: .relaxed) },
                    failedLines: file.failedLines.load(ordering: .relaxed))
        }
    }

    /// Writes what the workers left (they have stopped) and closes the files; waits at most `grace` nanoseconds
    /// (a full disk's writes are slow, but they end).
    public func stop(grace: UInt64 = 2_000_000_000) {
        stopping.store(true, ordering: .releasing)
        let deadline = MonotonicClock.now() &+ grace
        while !finished.load(ordering: .acquiring) && MonotonicClock.now() < deadline {
            PosixThread.sleep(milliseconds: 10)
        }
    }

    private static func open(_ path: String) throws(FileError) -> Int32 {
        do {
            return try PosixFileSystem().open(path, flags: O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, mode: 0o640)
        } catch {
            throw FileError(error, path: path)
        }
    }

    /// The writer's loop: every `interval`, each file's reopened descriptor taken, its rings written and its drops
    /// reported (a line when they start, at most every 10 s while they go on, one when they stop). Allocates
    /// nothing per pass: `test_allocations.py` counts the whole process.
    private func run() {
        var dropReports = files.map { _ in (seen: UInt64(0), report: IntervalReport(intervalNanoseconds: 10_000_000_000)) }
        var failureReports = files.map { _ in IntervalReport(intervalNanoseconds: 10_000_000_000) }
        while true {
            // After the stop, one more pass writes what the stopped workers left.
            let stop = stopping.load(ordering: .acquiring)
            // Index loops: an array's iterator allocates in a debug build, and this thread must not (see above).
            for index in 0..<files.count {
                let file = files[index]
                let reopened = file.reopened.exchange(-1, ordering: .acquiringAndReleasing)
                if reopened >= 0 { FileIO.close(file.descriptor.exchange(reopened, ordering: .acquiringAndReleasing)) }
                let fd = file.descriptor.load(ordering: .relaxed)
                var dropped: UInt64 = 0
                for worker in 0..<file.rings.count {
                    let ring = file.rings[worker]
                    write(ring, of: file, to: fd, failures: &failureReports[index])
                    dropped += ring.dropped.load(ordering: .relaxed)
                }
                let now = MonotonicClock.now()
                if dropped > dropReports[index].seen {
                    dropReports[index].seen = dropped
                    if dropReports[index].report.record(now: now) != nil {
                        logger.warning("access log \(file.config.path): lines dropped, the writer is behind",
                                       metadata: ["dropped_lines": .stringConvertible(dropped)])
                    }
                } else if dropReports[index].report.endIfQuiet(now: now) != nil {
                    logger.notice("access log \(file.config.path): written again without dropping lines",
                                  metadata: ["dropped_lines": .stringConvertible(dropped)])
                }
            }
            if stop { break }
            PosixThread.sleep(milliseconds: Self.interval)
        }
        for file in files {
            FileIO.close(file.descriptor.load(ordering: .relaxed))
            let reopened = file.reopened.exchange(-1, ordering: .relaxed)
            if reopened >= 0 { FileIO.close(reopened) }
        }
        finished.store(true, ordering: .releasing)
    }

    /// Writes what `ring` holds to `fd`, without allocating (the allocation test counts this thread too).
    private func write(_ ring: AccessLogRing, of file: File, to fd: Int32, failures: inout IntervalReport) {
        let (first, second) = ring.waiting()
        if write(first, ring, of: file, to: fd, failures: &failures) {
            _ = write(second, ring, of: file, to: fd, failures: &failures)
        }
    }

    /// Writes `span` of `ring` to `fd`. What the file does not take now stays in the ring (a line cut where the
    /// write stopped goes on from there next pass). A write error gives up the rest of the span, counting its
    /// lines. Returns whether the whole span went.
    private func write(_ span: UnsafeRawBufferPointer, _ ring: AccessLogRing, of file: File, to fd: Int32,
                       failures: inout IntervalReport) -> Bool {
        var offset = 0
        defer {
            file.writtenLines.add(Self.lines(in: UnsafeRawBufferPointer(rebasing: span[..<offset])), ordering: .relaxed)
            ring.consume(offset)
        }
        while offset < span.count {
            switch FileIO.writeFile(fd, from: UnsafeRawBufferPointer(rebasing: span[offset...])) {
            case .bytes(let n):
                offset += n
            case .wouldBlock, .endOfFile:
                return false  // a FIFO nobody reads: the rest waits in the ring
            case .failed(let err):
                file.failedLines.add(Self.lines(in: UnsafeRawBufferPointer(rebasing: span[offset...])), ordering: .relaxed)
                ring.consume(span.count - offset)
                if let count = failures.record(now: MonotonicClock.now()) {
                    logger.error("access log \(file.config.path): write failed, lines lost",
                                 metadata: ["errno": .stringConvertible(err), "failures": .stringConvertible(count)])
                }
                return false
            }
        }
        return true
    }

    private static func lines(in bytes: UnsafeRawBufferPointer) -> UInt64 {
        var count: UInt64 = 0
        for byte in bytes where byte == 0x0A { count += 1 }
        return count
    }
}
