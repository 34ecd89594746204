import TurnoutPosix

extension Worker {
    /// Graceful shutdown: stop accepting, close connections with nothing in flight,
    /// and let exchanges in progress finish with `Connection: close`.
    func beginDrain() {
        draining = true
        for listener in listeners {
            epoll.remove(listener.fd)
            FileIO.close(listener.fd)
        }
        acceptPaused = true
        for slot in 0..<clients.count {
            guard let client = clients[slot] else { continue }
            if client.machine.drain() { closeClient(client) }
        }
        for state in routing.targetsByKey.values {
            for upstream in state.idle { closeUpstream(upstream) }
            state.idle.removeAll()
        }
        logger.info("draining", metadata: ["open_connections": .stringConvertible(clientCount)])
    }

    /// True when the worker may exit: nothing left, or the grace deadline passed
    /// (whatever is left is closed).
    func finishDrainIfDone() -> Bool {
        if clientCount == 0 { return true }
        if now >= control.drainDeadline.load(ordering: .relaxed) {
            logger.warning("grace period over; closing \(clientCount) connections")
            for slot in 0..<clients.count {
                if let client = clients[slot] { closeClient(client, abort: true) }
            }
            return true
        }
        return false
    }
}
