import TurnoutPosix

/// Reads for the edge-triggered loop. A read that returns fewer bytes than asked
/// drained the socket: the next byte to arrive raises a new edge, so readiness is
/// cleared right away instead of paying a second read for the EAGAIN. Not after a
/// hang-up was signalled, though: then the end of file is still to be read.
@inline(__always)
func readSocket(_ fd: Int32, into pointer: UnsafeMutableRawPointer, count: Int,
                readable: inout Bool, hangUpSignalled: Bool) -> IOResult {
    let result = FileIO.read(fd, into: pointer, count: count)
    switch result {
    case .bytes(let n):
        if n < count && !hangUpSignalled { readable = false }
    case .wouldBlock:
        readable = false
    case .endOfFile, .failed:
        break
    }
    return result
}
