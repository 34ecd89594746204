/// A request the API refuses, carrying the status and the error code of the contract.
struct AdminFailure: Error {
    let status: Int
    let code: String
    let message: String

    static func badRequest(_ message: String) -> AdminFailure { AdminFailure(status: 400, code: "bad_request", message: message) }
    static func notFound(_ message: String) -> AdminFailure { AdminFailure(status: 404, code: "not_found", message: message) }
    static func invalid(_ message: String) -> AdminFailure { AdminFailure(status: 422, code: "invalid", message: message) }
    static func conflict(_ message: String) -> AdminFailure { AdminFailure(status: 409, code: "conflict", message: message) }
    static func stale(_ message: String) -> AdminFailure { AdminFailure(status: 409, code: "stale_generation", message: message) }
    /// This change's journal record could not be written; the journal is as it was.
    static func storage(_ message: String) -> AdminFailure { AdminFailure(status: 503, code: "state_not_saved", message: message) }
    /// No change can be saved until the journal is repaired.
    static func unsound(_ message: String) -> AdminFailure { AdminFailure(status: 503, code: "state_unsound", message: message) }

    var response: AdminResponse { .error(status, code, message) }
}
