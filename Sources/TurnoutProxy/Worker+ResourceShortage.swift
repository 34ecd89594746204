import Glibc
import TurnoutCore
import TurnoutPosix

/// Running out of descriptors or socket memory (EMFILE, ENFILE, ENOBUFS, ...): a local condition, never a
/// target's fault, that only time and closing connections cure.
///
/// - Accept: the listening sockets are level-triggered, so a failing `accept` would be reported again at once
///   and spin the worker. They leave the epoll set instead and are tried again every `acceptRetryDelay` (nginx
///   waits `accept_mutex_delay`, HAProxy queues the listener with a timer); pending connections wait in the
///   kernel's backlog meanwhile.
/// - A new upstream connection: the request is answered 503 (the proxy cannot serve it now), not 502, and the
///   target is not blamed (no passive ejection, no refused back-off, no retry elsewhere that would fail alike).
/// - A pipe for splicing: the body is copied instead.
///
/// Each worker logs the condition once when it starts, at most every `resourceShortageLogInterval` while it lasts,
/// with the number of failures, and once when a whole interval passed without one.
extension Worker {
    static let acceptRetryDelay: UInt64 = 100_000_000
    static let resourceShortageLogInterval: UInt64 = 10_000_000_000

    /// Counts one failure; logs when a line is due.
    func recordResourceShortage(errno err: Int32, during action: StaticString) {
        guard let failures = resourceShortage.record(now: now) else { return }
        logger.error("out of local resources (\(String(cString: strerror(err)))): accept paused, new upstream connections answered 503", metadata: [
            "failures": .stringConvertible(failures), "during": "\(action)",
            "interval_seconds": .stringConvertible(Worker.resourceShortageLogInterval / 1_000_000_000),
        ])
    }

    /// `accept` failed for lack of resources: stop watching the listeners until the retry time.
    func pauseAcceptingForResources(errno err: Int32) {
        recordResourceShortage(errno: err, during: "accept")
        acceptRetryAt = now &+ Worker.acceptRetryDelay
        guard !acceptPaused else { return }
        acceptPaused = true
        for listener in listeners { epoll.remove(listener.fd) }
    }

    /// On the tick: watch the listeners again once the retry time has come (a listener with connections
    /// pending is reported at once, and the next `accept` tells whether resources came back), and close the
    /// report of a shortage that has not recurred for an interval.
    func retryAcceptingAfterShortage() {
        if acceptRetryAt != 0 && now >= acceptRetryAt {
            acceptRetryAt = 0
            resumeAcceptingIfPaused()
        }
        if let unreported = resourceShortage.endIfQuiet(now: now) {
            logger.notice("local resources sufficed again for \(Worker.resourceShortageLogInterval / 1_000_000_000) s",
                          metadata: ["failures_since_last_report": .stringConvertible(unreported)])
        }
    }
}
