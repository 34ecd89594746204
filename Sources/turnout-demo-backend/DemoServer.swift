import Glibc

/// Accepts connections on one thread and serves each connection on a thread of its own.
final class DemoServer: Sendable {
    private let listener: ListeningSocket
    private let router: DemoRouter

    init(listener: ListeningSocket, router: DemoRouter) {
        self.listener = listener
        self.router = router
    }

    /// Starts the accept loop on a background thread and returns immediately.
    func startAcceptingInBackground() {
        do {
            try startDetachedThread(stackSize: 256 * 1024) { [self] in acceptLoop() }
        } catch {
            writeStandardError("turnout-demo-backend: cannot start the accept thread: \(error)\n")
            exit(1)
        }
    }

    private func acceptLoop() {
        while true {
            let fd: Int32
            do {
                fd = try listener.accept()
            } catch {
                writeStandardError("turnout-demo-backend: \(error); no longer accepting\n")
                return
            }
            var enable: Int32 = 1
            // Heads and small bodies go out in one write; don't let Nagle hold the last segment back.
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &enable, socklen_t(MemoryLayout<Int32>.size))
            let router = self.router
            do {
                try startDetachedThread(stackSize: 512 * 1024) {
                    DemoConnection(stream: ConnectionStream(descriptor: fd), router: router).serve()
                }
            } catch {
                writeStandardError("turnout-demo-backend: \(error); dropping a connection\n")
                close(fd)
            }
        }
    }
}
