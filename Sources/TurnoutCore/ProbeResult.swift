/// The outcome of one active health check of a target.
public enum ProbeResult: Sendable, Equatable {
    /// The target answered with a status the group's matcher accepts.
    case passed(status: Int)
    /// The target answered with a status the matcher refuses.
    case codeMismatch(status: Int)
    /// No complete response head arrived within the timeout (connecting included).
    case timedOut
    /// The connection failed or broke before a response head: "connection refused", "connection reset", ...
    case connectionFailed(String)
    /// The probe could not even start here ("too many open files"): the checker ran short of descriptors or
    /// memory. It says nothing about the target, so it counts neither way.
    case notSent(String)

    public var isPass: Bool {
        if case .passed = self { return true }
        return false
    }

    /// The reason and description an `unhealthy` target shows after this failure; nil for a pass (and for a
    /// probe not sent, which is no result at all).
    var failure: (reason: TargetHealthReason, description: String)? {
        switch self {
        case .passed, .notSent: return nil
        case .codeMismatch(let status): return (.responseCodeMismatch, "Health checks failed with these codes: [\(status)]")
        case .timedOut: return (.timeout, "Request timed out")
        case .connectionFailed(let detail): return (.failedHealthChecks, detail)
        }
    }
}
