import CTurnoutLinux
import Glibc

/// A command started by this process, in a process group of its own, whose end shows as a readable descriptor
/// (`exitDescriptor`, a pidfd) that an epoll loop can watch: no SIGCHLD, no thread waiting for it, and no
/// confusion with a later process that reuses its pid, since the pid stays ours until `reap` collects it.
///
/// The command's standard input is /dev/null; its standard output and error go, interleaved, into one pipe whose
/// non-blocking read end is `outputDescriptor`. It inherits no other descriptor, an empty signal mask and default
/// signal dispositions. It gets SIGKILL when the thread that spawned it ends (`PR_SET_PDEATHSIG`; the setting is
/// not inherited by what it starts), so it does not outlive a process killed with SIGKILL. Both descriptors are
/// the owner's to close.
public struct ChildProcess: Sendable {
    /// How a reaped process ended.
    public enum Termination: Sendable, Equatable {
        case exited(status: Int32)
        case killedBySignal(Int32)
    }

    public let pid: pid_t
    /// Readable once the process has ended.
    public let exitDescriptor: Int32
    /// The read end of the pipe its standard output and error write to.
    public let outputDescriptor: Int32

    /// Starts `arguments[0]` (looked up in `PATH` when it has no `/`) with `arguments` as its argv and
    /// `environment` (`NAME=value` entries) as its whole environment.
    public static func spawn(arguments: [String], environment: [String]) throws(SystemError) -> ChildProcess {
        guard let file = arguments.first else { throw SystemError("spawn", errno: ENOENT) }
        var pid: pid_t = 0
        var output: Int32 = -1
        let error = withCStringArray(arguments) { argv in
            withCStringArray(environment) { envp in turnout_spawn(file, argv, envp, &pid, &output) }
        }
        if error != 0 { throw SystemError("spawn", errno: error) }
        let (exitDescriptor, openError) = retryingOnInterrupt { turnout_pidfd_open(pid) }
        if exitDescriptor < 0 {
            // Nothing could tell us when it ends: stop it now, and collect it at once (SIGKILL is not refused).
            _ = Glibc.kill(-pid, SIGKILL)
            var status: Int32 = 0
            _ = retryingOnInterrupt { waitpid(pid, &status, 0) }
            FileIO.close(output)
            throw SystemError("pidfd_open", errno: openError)
        }
        return ChildProcess(pid: pid, exitDescriptor: exitDescriptor, outputDescriptor: output)
    }

    /// Sends `signal` to every process of the command's group (the command and whatever it started that stayed
    /// in its group). Harmless once they have all ended.
    public func signalGroup(_ signal: Int32) {
        _ = retryingOnInterrupt { Glibc.kill(-pid, signal) }
    }

    /// Collects the process once `exitDescriptor` is readable; nil while it still runs. Call it until it returns
    /// a termination, or the process stays a zombie.
    public func reap() -> Termination? {
        var status: Int32 = 0
        let (reaped, _) = retryingOnInterrupt { waitpid(pid, &status, WNOHANG) }
        guard reaped == pid else { return nil }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import (they are macros).
        let signal = status & 0x7f
        return signal == 0 ? .exited(status: (status >> 8) & 0xff) : .killedBySignal(signal)
    }
}

/// Runs `body` with `strings` as a NULL-terminated array of C strings, valid for the call.
private func withCStringArray<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { for pointer in pointers { free(pointer) } }
    return body(pointers)
}
