import Glibc
import TurnoutPosix

/// Moves body bytes socket → pipe → socket with `splice(2)`, so they never enter user
/// space. One relay serves one direction of one exchange; its pipe comes from the
/// worker's pool and goes back only when empty.
final class SpliceRelay {
    let pipe: Pipe
    let capacity: Int
    /// Bytes read into the pipe and not yet written out.
    var buffered = 0

    init(pipe: Pipe, capacity: Int) {
        self.pipe = pipe
        self.capacity = capacity
    }

    enum Outcome: Equatable {
        /// Bytes moved; call again when readiness changes.
        case progressed
        /// Nothing could move (waiting for input or output room).
        case stalled
        /// The source reached end of file and the pipe is drained.
        case sourceEnded
        /// The destination failed (reset, broken pipe).
        case destinationFailed(Int32)
        /// The source failed.
        case sourceFailed(Int32)
        /// The kernel refuses to splice these descriptors; fall back to copying.
        case unsupported
    }

    /// Pumps until stalled. `remaining` counts bytes still to read from the source
    /// (nil: until end of file); it reaches 0 when the body is complete. `budget` is how
    /// many more bytes this turn may read from the source: at 0 the pump drains the pipe and
    /// stops even though the source may still be readable, so that one fast transfer does
    /// not hold the worker while other connections wait (the caller owes it another turn).
    func pump(from source: Int32, to destination: Int32, remaining: inout UInt64?,
              sourceReadable: inout Bool, destinationWritable: inout Bool,
              written: inout Int, budget: inout Int) -> Outcome {
        var progressed = false
        while true {
            if buffered > 0 {
                guard destinationWritable else { return progressed ? .progressed : .stalled }
                // Never SPLICE_F_MORE: like MSG_MORE it corks the socket, and a slow source
                // (or a tunnel's small messages) would wait for the cork timer.
                switch FileIO.splice(from: pipe.readEnd, to: destination, count: buffered, more: false) {
                case .bytes(let n):
                    buffered -= n
                    written &+= n
                    progressed = true
                    continue
                case .wouldBlock:
                    destinationWritable = false
                    return progressed ? .progressed : .stalled
                case .endOfFile:
                    return .destinationFailed(EPIPE)
                case .failed(let err):
                    if err == EINVAL || err == ENOSYS { return .unsupported }
                    return .destinationFailed(err)
                }
            }
            if remaining == 0 { return progressed ? .progressed : .stalled }
            guard sourceReadable, budget > 0 else { return progressed ? .progressed : .stalled }
            let want = remaining.map { Int(min($0, UInt64(capacity))) } ?? capacity
            switch FileIO.splice(from: source, to: pipe.writeEnd, count: want, more: false) {
            case .bytes(let n):
                buffered += n
                budget -= n
                if let left = remaining { remaining = left - UInt64(n) }
                // Unlike read(2), a short splice does not mean the socket is drained: the pipe
                // may have run out of slots for small segments. Readiness ends only at EAGAIN.
                progressed = true
            case .wouldBlock:
                sourceReadable = false
                return progressed ? .progressed : .stalled
            case .endOfFile:
                return .sourceEnded
            case .failed(let err):
                if err == EINVAL || err == ENOSYS { return .unsupported }
                return .sourceFailed(err)
            }
        }
    }
}
