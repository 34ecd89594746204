import CTurnoutLinux
import Glibc

/// A joinable POSIX thread running a closure: the workers and the control loop each own one.
public final class PosixThread: @unchecked Sendable {
    // @unchecked: `handle` is written once by the creating thread before any other
    // thread can see the object, and read only by `join` on that same thread.
    private var handle: pthread_t = 0

    private final class Box {
        let name: String?
        let body: @Sendable () -> Void
        init(name: String?, _ body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// Starts `body` on a new thread named `name` (shown by `top -H`, 15 bytes at most).
    public init(name: String, _ body: @escaping @Sendable () -> Void) throws(SystemError) {
        handle = try Self.start(name: String(name.prefix(15)), attributes: nil, body)
    }

    /// Waits for the thread to finish.
    public func join() {
        _ = pthread_join(handle, nil)
    }

    /// Starts `body` on a new, unnamed, detached thread with a stack of `stackSize` bytes: nobody joins it, and
    /// its resources are released when `body` returns. For a thread per connection, where thousands may run at
    /// once and the default stack (8 MiB of address space each) is far more than they need.
    public static func detach(stackSize: Int, _ body: @escaping @Sendable () -> Void) throws(SystemError) {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        let rc = pthread_attr_setstacksize(&attributes, stackSize)
        if rc != 0 { throw SystemError("pthread_attr_setstacksize", errno: rc) }
        _ = try start(name: nil, attributes: &attributes, body)
    }

    /// Suspends the calling thread for at least `milliseconds`, resuming the wait after a signal interrupts it.
    public static func sleep(milliseconds: Int) {
        var remaining = timespec(tv_sec: milliseconds / 1000, tv_nsec: (milliseconds % 1000) * 1_000_000)
        var left = timespec()
        while nanosleep(&remaining, &left) != 0, turnout_errno() == EINTR {
            remaining = left
        }
    }

    private static func start(
        name: String?, attributes: UnsafePointer<pthread_attr_t>?, _ body: @escaping @Sendable () -> Void
    ) throws(SystemError) -> pthread_t {
        var thread = pthread_t()
        let box = Unmanaged.passRetained(Box(name: name, body)).toOpaque()
        let rc = pthread_create(&thread, attributes, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            // Named by the thread itself: that is a prctl, where naming another thread opens a file under
            // /proc, which fails when the process is out of descriptors.
            if let name = box.name { _ = turnout_set_thread_name(pthread_self(), name) }
            box.body()
            return nil
        }, box)
        if rc != 0 {
            Unmanaged<Box>.fromOpaque(box).release()
            throw SystemError("pthread_create", errno: rc)
        }
        return thread
    }
}
