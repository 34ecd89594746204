import Glibc
import TurnoutCore
import TurnoutPosix

/// Where a listener's access log lines go from one worker: the worker's ring of the file, and the line's format.
struct WorkerAccessLog {
    let ring: AccessLogRing
    let format: AccessLogFormat
}

/// The access log's line for each request answered on a listener that writes one: formatted into the worker's
/// scratch line and appended to its ring (`AccessLogRing`), or dropped and counted when the writer is behind. No
/// system call but the vDSO's clock, no allocation.
extension Worker {
    /// Writes the line of the request `client`'s machine just answered, if it keeps one.
    func recordAccess(_ client: ClientConnection) {
        guard let facts = client.machine.takeAccess(), let log = accessLogs[client.listenerIndex] else { return }
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        let route = facts.route?.object
        let entry = AccessLogEntry(
            time: UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec), client: client.peerHostBytes,
            listener: listenerNames[client.listenerIndex], rule: facts.rule?.object.rule, group: route?.group, target: route?.target,
            status: facts.status, bytesIn: facts.bytesIn, bytesOut: facts.bytesOut, duration: facts.duration,
            upstreamDuration: facts.upstreamDuration, retried: facts.retried, text: facts.exchange?.object.logText)
        let count = accessLine.write(entry, format: log.format, into: accessScratch)
        log.ring.append(UnsafeRawBufferPointer(rebasing: accessScratch[0..<count]))
    }
}
