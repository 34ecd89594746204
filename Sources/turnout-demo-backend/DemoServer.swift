import Glibc
import TurnoutPosix

/// Accepts connections on the main thread and serves each on a detached thread of its own.
///
/// A thread per connection, not an epoll loop: the handlers are straight-line blocking code (a `/slow` wait, a body
/// hashed as it streams in, a WebSocket echo, an abort that waits for the peer's acknowledgement), connections
/// never wait for one another, and the kernel spreads them over the cores. The tests and the switch benchmark
/// keep a few dozen connections open at most; a thread costs a 512 KiB stack of address space, touched only as
/// far as it is used.
struct DemoServer {
    static let connectionStackSize = 512 * 1024
    private static let listenerToken: UInt64 = 0
    private static let stopSignalToken: UInt64 = 1

    let listener: Int32
    let router: DemoRouter

    /// Accepts connections until one of `stopSignals`' signals arrives, and returns it. The signals must be blocked
    /// in every thread (`SignalDescriptor.block` before any thread starts).
    func run(until stopSignals: SignalDescriptor) throws(SystemError) -> Int32 {
        let epoll = try Epoll(capacity: 2)
        try epoll.add(listener, .readable, token: Self.listenerToken)
        try epoll.add(stopSignals.fd, .readable, token: Self.stopSignalToken)
        while true {
            for index in 0..<epoll.wait(timeoutMilliseconds: -1) {
                if epoll.tokens[index] == Self.stopSignalToken, let signal = stopSignals.take() {
                    return signal
                }
                if epoll.tokens[index] == Self.listenerToken {
                    acceptPending()
                }
            }
        }
    }

    /// Accepts every pending connection and starts a thread for each.
    private func acceptPending() {
        var peer = SocketAddress(storage: sockaddr_storage(), length: 0)
        while true {
            let (fd, error) = Socket.accept(listener, peer: &peer)
            guard fd >= 0 else {
                switch error {
                case EAGAIN, EWOULDBLOCK:
                    return
                case ECONNABORTED, EPROTO:
                    continue
                default:
                    // Out of descriptors or memory (EMFILE, ENOBUFS, ...): back off briefly instead of spinning; the
                    // listener stays readable, so the pending connections are tried again.
                    FileIO.writeStandardError("turnout-demo-backend: \(SystemError("accept4", errno: error))\n")
                    PosixThread.sleep(milliseconds: 10)
                    return
                }
            }
            let router = self.router
            do {
                try PosixThread.detach(stackSize: Self.connectionStackSize) {
                    DemoConnection(descriptor: fd, router: router).serve()
                }
            } catch {
                FileIO.writeStandardError("turnout-demo-backend: \(error); dropping a connection\n")
                FileIO.close(fd)
            }
        }
    }
}
