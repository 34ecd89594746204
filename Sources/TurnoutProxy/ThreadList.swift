import Synchronization
import TurnoutPosix

/// The proxy's worker threads, appended at start and joined at shutdown.
final class ThreadList: Sendable {
    private let threads = Mutex<[PosixThread]>([])

    func append(_ thread: PosixThread) { threads.withLock { $0.append(thread) } }

    var all: [PosixThread] { threads.withLock { $0 } }
}
