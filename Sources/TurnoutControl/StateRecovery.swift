import Logging
import TurnoutCore

/// Rebuilds the saved state at start-up: the snapshot, then every journal record after
/// it. Afterwards the caller compacts, so the journal starts empty.
///
/// Every journal record carries the whole routing state after its change (forwards, target
/// lists, drains), so when the snapshot is corrupt the journal alone still restores the
/// routing of the last acknowledged change; only the audit entries and idempotency keys
/// older than the journal are missing (they are in the snapshot kept aside). Nothing is
/// truncated or deleted here: damaged files are renamed aside.
public enum StateRecovery {
    public struct Outcome: Equatable, Sendable {
        /// The saved state; `nil` when there is none and the configuration file rules.
        public var state: PersistedState?
        /// How many journal records were applied.
        public var replayed: Int
        /// What was wrong with the saved files and what was done about it, for the log and
        /// the status; `nil` after a clean start.
        public var damage: String?

        public init(state: PersistedState?, replayed: Int = 0, damage: String? = nil) {
            self.state = state
            self.replayed = replayed
            self.damage = damage
        }
    }

    public static func recover(store: StateStore, journal: StateJournal, logger: Logger) -> Outcome {
        var state: PersistedState?
        var damage: [String] = []
        var snapshotLost = false
        switch store.load() {
        case .absent:
            break
        case .loaded(let snapshot):
            state = snapshot
        case .corrupt(let reason, let movedTo):
            snapshotLost = true
            damage.append("\(store.path) was corrupt (\(reason))" + (movedTo.map { "; kept aside as \($0)" } ?? ""))
        }
        let contents = journal.read()
        var replayed = 0
        for record in contents.records {
            if let current = state, record.sequence <= current.journalSequence { continue }
            state = record.applied(to: state ?? PersistedState(generation: record.generation))
            replayed += 1
        }
        if let problem = contents.problem {
            damage.append("\(journal.path): \(problem); using the state up to the last intact change")
        }
        if snapshotLost {
            if let state {
                damage.append("routing restored from \(replayed) journal records (generation \(state.generation)); "
                    + "audit entries and idempotency keys older than the journal are only in the file kept aside")
            } else {
                damage.append("the journal holds no change; starting from the configuration")
            }
        }
        let outcome = Outcome(state: state, replayed: replayed, damage: damage.isEmpty ? nil : damage.joined(separator: "; "))
        if let description = outcome.damage { logger.critical("SAVED STATE DAMAGED: \(description)") }
        return outcome
    }
}

/// Applies a saved state over the configuration file: saved forwards and target lists
/// win for listeners and groups the file still has; the rest is ignored with a warning.
/// A saved forward from before weights were percentages is restored in proportion.
/// Registered names come back with the addresses they last resolved to, so that they are
/// served at once while they are looked up again.
public enum StateRestore {
    public static func apply(_ state: PersistedState, over config: TurnoutConfig, logger: Logger) -> RoutingTable {
        var table = RoutingTable(config: config, generation: max(1, state.generation))
        var targets: [String: [HostPort]] = [:]
        var resolved: [String: [HostPort: [HostPort]]] = [:]
        for (group, list) in state.targetGroups.sorted(by: { $0.key < $1.key }) {
            guard table.groupIndex(named: group) != nil else {
                logger.warning("saved state names target group '\(group)', which the configuration no longer has; ignored")
                continue
            }
            let parsed = list.compactMap(HostPort.parse)
            if parsed.count == list.count { targets[group] = parsed }
            for (name, addresses) in state.resolvedNames[group] ?? [:] {
                guard let name = HostPort.parse(name) else { continue }
                resolved[group, default: [:]][name] = addresses.compactMap(HostPort.parse).filter(\.isAddress)
            }
        }
        if !targets.isEmpty, let next = try? table.replacingTargets(targets, resolved: resolved, generation: table.generation) {
            table = next
        }
        var forwards: [String: [WeightedGroup]] = [:]
        for (listener, weights) in state.listeners.sorted(by: { $0.key < $1.key }) {
            guard table.listenerIndex(named: listener) != nil else {
                logger.warning("saved state names listener '\(listener)', which the configuration no longer has; ignored")
                continue
            }
            let known = weights.filter { table.groupIndex(named: $0.group) != nil }
            if known.count != weights.count {
                logger.warning("saved forward of '\(listener)' names target groups the configuration no longer has; ignored")
                continue
            }
            forwards[listener] = inPercentages(known.map { WeightedGroup(group: $0.group, weight: $0.weight) },
                                               listener: listener, logger: logger)
        }
        if !forwards.isEmpty {
            do {
                table = try table.replacingForward(forwards, generation: table.generation)
            } catch {
                logger.warning("saved forwards no longer valid (\(error)); using the configuration's")
            }
        }
        // A rule's saved forward wins like a listener's, rule by rule: one the configuration no longer has (or
        // that no longer forwards, or names a group that is gone) keeps the file's.
        for (listener, rules) in state.ruleForwards.sorted(by: { $0.key < $1.key }) {
            for (rule, weights) in rules.sorted(by: { $0.key < $1.key }) {
                let forward = weights.map { WeightedGroup(group: $0.group, weight: $0.weight) }
                do {
                    table = try table.replacingRuleForwards([listener: [rule: forward]], generation: table.generation)
                } catch {
                    logger.warning("saved forward of rule '\(rule)' of '\(listener)' not restored (\(error)); using the configuration's")
                }
            }
        }
        return table
    }

    /// A saved forward whose weights do not add up to 100 was written when weights were relative shares: it
    /// comes back as the percentages it made (rounded, a group that had traffic keeping at least 1), with a
    /// warning. The snapshot written at start then holds the percentages.
    private static func inPercentages(_ forward: [WeightedGroup], listener: String, logger: Logger) -> [WeightedGroup] {
        let sum = forward.reduce(0) { $0 + $1.weight }
        guard sum != WeightedGroup.total, let percentages = WeightedGroup.inPercentages(forward) else { return forward }
        logger.warning("""
            saved forward of '\(listener)' is \(WeightedGroup.describe(forward)), which adds up to \(sum): weights are \
            percentages now, so it is restored in proportion as \(WeightedGroup.describe(percentages))
            """)
        return percentages
    }
}
