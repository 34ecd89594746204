import TurnoutCore

/// Health changes reach the data plane as a republish of the same generation.
extension ControlPlane {
    func healthChanged(_ change: HealthChange) {
        publish()
    }
}
