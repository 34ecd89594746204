import TurnoutCore
import TurnoutPosix

/// Looks names up for the control plane: `ThreadedNameResolver` with `getaddrinfo` on threads of its own, the
/// unit tests by hand.
public protocol NameResolver: AnyObject {
    /// Starts looking up `name` (its host; its port goes into every address found). `completion` gets the answer
    /// once, on the control thread, never from within this call.
    func lookUp(_ name: HostPort, completion: @escaping (NameAnswer) -> Void)
}

/// Looks names up with `getaddrinfo` (so `/etc/hosts`, `/etc/resolv.conf` and Docker's embedded DNS apply as
/// for any program) on a detached thread per lookup, and hands each answer to the control loop through
/// `ControlLoop.execute`. `getaddrinfo` blocks for as long as the resolver's timeouts allow and cannot be
/// cancelled, so the control thread never calls it; at most one lookup per registered name runs at a time
/// (`NameRefreshState` skips a turn meanwhile), which bounds the threads to the names.
public final class ThreadedNameResolver: NameResolver {
    /// Room for `getaddrinfo` and the NSS modules it loads (address space; only what is touched is resident).
    static let stackSize = 1 << 20

    private let loop: ControlLoop
    private let mailbox: Mailbox
    private var pending: [UInt64: (NameAnswer) -> Void] = [:]
    private var lastID: UInt64 = 0

    public init(loop: ControlLoop) {
        self.loop = loop
        mailbox = Mailbox(loop: ControlLoopHandle(loop))
        mailbox.resolver = self
    }

    public func lookUp(_ name: HostPort, completion: @escaping (NameAnswer) -> Void) {
        lastID += 1
        let id = lastID
        pending[id] = completion
        let mailbox = self.mailbox
        do {
            try PosixThread.detach(stackSize: Self.stackSize) {
                let answer = Self.answer(for: name)
                mailbox.deliver(id, answer)
            }
        } catch {
            loop.schedule(after: 0) { [weak self] in
                self?.finish(id, .failed("cannot start a lookup thread: \(error)"))
            }
        }
    }

    /// The lookup itself (blocking): every address of `name` on its port.
    static func answer(for name: HostPort) -> NameAnswer {
        do {
            let found = try SocketAddress.lookUp(host: name.host, port: name.port)
            guard !found.isEmpty else { return .failed("no address") }
            return .addresses(found.map { HostPort(host: $0.numericHost, port: name.port) })
        } catch {
            return .failed(error.description)
        }
    }

    fileprivate func finish(_ id: UInt64, _ answer: NameAnswer) {
        pending.removeValue(forKey: id)?(answer)
    }

    /// What a lookup thread holds: the way back to the loop, and the resolver, touched only on the loop.
    private final class Mailbox: @unchecked Sendable {
        private let loop: ControlLoopHandle
        weak var resolver: ThreadedNameResolver?

        init(loop: ControlLoopHandle) { self.loop = loop }

        func deliver(_ id: UInt64, _ answer: NameAnswer) {
            loop.execute { [self] in resolver?.finish(id, answer) }
        }
    }
}
