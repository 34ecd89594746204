import Glibc

extension HealthProbe {
    /// How a failed connection shows in a target's health description.
    static func describe(errno error: Int32) -> String {
        switch error {
        case ECONNREFUSED: return "connection refused"
        case ECONNRESET, EPIPE: return "connection reset"
        case ETIMEDOUT: return "connection timed out"
        case EHOSTUNREACH: return "host unreachable"
        case ENETUNREACH: return "network unreachable"
        default: return String(cString: strerror(error)).lowercased()
        }
    }
}
