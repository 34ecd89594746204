import Glibc

/// SIGTERM/SIGINT handling without signal handlers: the signals are blocked in every thread and the main thread
/// waits for them synchronously, so shutdown runs as ordinary code.
enum ShutdownSignals {
    private static func stopSignalSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        return set
    }

    /// Blocks SIGTERM and SIGINT in the calling thread; threads created afterwards inherit the mask.
    static func blockInCurrentThread() {
        var set = stopSignalSet()
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Blocks until SIGTERM or SIGINT arrives and returns its number.
    static func waitForStopSignal() -> Int32 {
        var set = stopSignalSet()
        var received: Int32 = 0
        while sigwait(&set, &received) != 0 {}
        return received
    }
}
