import Logging
import TurnoutCore

/// Builds a new routing table from the configuration file on SIGHUP. Weights and
/// target lists change live; listener names and addresses need a restart.
struct RoutingReloader {
    let path: String
    let running: TurnoutConfig
    var generation: UInt64
    let logger: Logger

    init(path: String, running: TurnoutConfig, generation: UInt64, logger: Logger) {
        self.path = path
        self.running = running
        self.generation = generation
        self.logger = logger
    }

    /// The next table, or nil (logged) when the file is invalid or changes listeners.
    mutating func reload() -> RoutingTable? {
        let config: TurnoutConfig
        do {
            config = try ConfigLoader.load(path: path)
        } catch {
            logger.error("reload refused, routing unchanged: \(error)")
            return nil
        }
        let before = running.listeners.map { "\($0.name)@\($0.bind)" }
        let after = config.listeners.map { "\($0.name)@\($0.bind)" }
        guard before == after else {
            logger.error("reload refused, routing unchanged: listeners changed (\(before) → \(after)); restart to rebind")
            return nil
        }
        generation += 1
        return RoutingTable(config: config, generation: generation)
    }
}
