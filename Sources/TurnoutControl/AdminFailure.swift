/// A request the API refuses, carrying the status and the error code of the contract.
struct AdminFailure: Error {
    let status: Int
    let code: AdminErrorCode
    let message: String

    static func badRequest(_ message: String) -> AdminFailure { AdminFailure(status: 400, code: .badRequest, message: message) }
    static func notFound(_ message: String) -> AdminFailure { AdminFailure(status: 404, code: .notFound, message: message) }
    static func invalid(_ message: String) -> AdminFailure { AdminFailure(status: 422, code: .invalid, message: message) }
    static func conflict(_ message: String) -> AdminFailure { AdminFailure(status: 409, code: .conflict, message: message) }
    static func stale(_ message: String) -> AdminFailure { AdminFailure(status: 409, code: .staleGeneration, message: message) }
    /// This change's journal record could not be written; the journal is as it was.
    static func storage(_ message: String) -> AdminFailure { AdminFailure(status: 503, code: .stateNotSaved, message: message) }
    /// No change can be saved until the journal is repaired.
    static func unsound(_ message: String) -> AdminFailure { AdminFailure(status: 503, code: .stateUnsound, message: message) }

    var response: AdminResponse { .error(status, code, message) }
}
