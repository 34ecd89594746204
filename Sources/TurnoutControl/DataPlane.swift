import TurnoutCore

/// What the control plane needs of the data plane: somewhere to publish the routing table, and
/// the ports its listeners actually bound (for the status). `TurnoutProxy`'s `Proxy` is the one
/// that serves traffic; the control plane's unit tests publish to a fake that records each table.
public protocol DataPlane: AnyObject {
    /// Listener name → the port actually bound (differs from the configuration for port 0).
    var boundPorts: [String: UInt16] { get }

    /// Makes `table` the routing table for every request routed after this returns;
    /// `routable[group][target]` applies target health (nil: every target routable).
    func publish(_ table: RoutingTable, routable: [[Bool]]?)
}
