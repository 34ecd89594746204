import CTurnoutLinux
import Glibc

/// A joinable POSIX thread running a closure: the workers and the control loop each own one.
public final class PosixThread: @unchecked Sendable {
    // @unchecked: `handle` is written once by the creating thread before any other
    // thread can see the object, and read only by `join` on that same thread.
    private var handle: pthread_t = 0

    private final class Box {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, _ body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// Starts `body` on a new thread named `name` (shown by `top -H`, 15 bytes at most).
    public init(name: String, _ body: @escaping @Sendable () -> Void) throws(SystemError) {
        let box = Unmanaged.passRetained(Box(name: String(name.prefix(15)), body)).toOpaque()
        let rc = pthread_create(&handle, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            // Named by the thread itself: that is a prctl, where naming another thread opens a file under
            // /proc, which fails when the process is out of descriptors.
            _ = turnout_set_thread_name(pthread_self(), box.name)
            box.body()
            return nil
        }, box)
        if rc != 0 {
            Unmanaged<Box>.fromOpaque(box).release()
            throw SystemError("pthread_create", errno: rc)
        }
    }

    /// Waits for the thread to finish.
    public func join() {
        _ = pthread_join(handle, nil)
    }
}
