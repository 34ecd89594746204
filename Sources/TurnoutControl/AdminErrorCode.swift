/// Every error code the admin API answers with, in `{"error": {"code", "message"}}`.
/// `openapi/turnout-admin.yaml` lists exactly these (`AdminErrorCodeTests` compares).
public enum AdminErrorCode: String, CaseIterable, Sendable {
    /// 400: a body that is not strict JSON or has a value of the wrong type, a bad query or header;
    /// also what the HTTP parser refuses (400, 411 for a body without Content-Length, 417, 431,
    /// 501, 505).
    case badRequest = "bad_request"
    /// 401: a token is configured and the request did not present it.
    case unauthorized
    /// 403: the `Host` header names neither an IP address, `localhost`, the bind's host nor one of
    /// `admin.allowed_hosts` (DNS rebinding).
    case hostNotAllowed = "host_not_allowed"
    /// 403: a browser sent a state-changing request from another site (`Sec-Fetch-Site`, `Origin`).
    case crossSiteRequest = "cross_site_request"
    /// 404: unknown path, listener, target group or target.
    case notFound = "not_found"
    /// 405: the path exists, not with this method.
    case methodNotAllowed = "method_not_allowed"
    /// 409: `If-Match` named another generation than the current one.
    case staleGeneration = "stale_generation"
    /// 409: the request contradicts the current state.
    case conflict
    /// 413: a body over 1 MiB.
    case payloadTooLarge = "payload_too_large"
    /// 415: a body without `Content-Type: application/json`.
    case unsupportedMediaType = "unsupported_media_type"
    /// 422: well-formed but semantically wrong.
    case invalid
    /// 422: a reload (`POST /v1/reload`) found a file it cannot apply: invalid, or changing keys only a
    /// restart applies; the error's `keys` names them.
    case reloadRefused = "reload_refused"
    /// 422: a certificate reload (`POST /v1/tls/reload`) found a file it cannot use (unreadable, not PEM, a key
    /// that does not match its certificate); the certificates in force keep serving.
    case tlsReloadRefused = "tls_reload_refused"
    /// 422: the `Idempotency-Key` was used for another request.
    case idempotencyKeyReused = "idempotency_key_reused"
    /// 503: the change's record could not be written to the state journal; the journal is as it was
    /// and nothing changed.
    case stateNotSaved = "state_not_saved"
    /// 503: a failed write could not be undone, so no change can be saved until the journal is
    /// repaired (`/healthz` answers 503 meanwhile).
    case stateUnsound = "state_unsound"
    /// 503: the shared state store (etcd) cannot be reached, so the change is not in force and no change can be
    /// saved; serving goes on with the state last applied, and changes are accepted again once it answers (a change
    /// whose transaction etcd committed before the connection failed is applied by every instance then).
    case stateStoreUnavailable = "state_store_unavailable"
    /// 503: as many clients as the server allows are streaming `GET /v1/events` already.
    case tooManyStreams = "too_many_streams"
    /// 503: an access log file could not be opened again (`POST /v1/logs/reopen`); it keeps its old descriptor.
    case logNotReopened = "log_not_reopened"
}

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
    /// The shared state store cannot be reached.
    static func storeUnavailable(_ message: String) -> AdminFailure {
        AdminFailure(status: 503, code: .stateStoreUnavailable, message: message)
    }
    /// The event stream has as many clients as it takes.
    static func tooManyStreams(_ message: String) -> AdminFailure { AdminFailure(status: 503, code: .tooManyStreams, message: message) }

    var response: AdminResponse { .error(status, code, message) }
}
