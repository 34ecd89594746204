import Foundation
import TurnoutCore

/// The admin API's router: the request guard, the dashboard's files (no token), authentication, idempotency, then the
/// endpoint.
extension ControlPlane {
    /// Answers one admin request (control thread).
    public func handle(_ request: AdminRequest) -> AdminResponse {
        let segments = request.path.split(separator: "/", omittingEmptySubsequences: true)
            .map { String($0).removingPercentEncoding ?? String($0) }
        let isHealthCheck = segments == ["healthz"]
        if let refusal = requestGuard.refusal(for: request, isHealthCheck: isHealthCheck) { return refusal }
        if request.method == "GET" || request.method == "HEAD", isHealthCheck {
            return healthz()
        }
        // The dashboard's files carry no data: the page gets them before it has asked for the token.
        if Dashboard.owns(segments) { return Dashboard.response(method: request.method, path: request.path, segments: segments) }
        if let failure = authenticate(request) { return failure }
        let isMutation = ["POST", "PUT", "DELETE", "PATCH"].contains(request.method)
        if isMutation {
            do throws(AdminFailure) { try Self.checkWaitQuery(request) } catch { return error.response }
        }
        guard isMutation, let key = request.header("Idempotency-Key"), isRouted(request.method, segments) else {
            let response = route(request, segments: segments)
            return isMutation ? waitingForFleet(response, request: request) : response
        }
        guard IdempotencyCache.isValidKey(key) else {
            return .error(400, .badRequest, "Idempotency-Key must be 1 to 200 visible ASCII characters")
        }
        let bodyHash = IdempotencyCache.requestHash(body: request.body)
        switch idempotency.lookup(key: key, method: request.method, path: request.path, bodyHash: bodyHash) {
        case .replay(let status, let body):
            return AdminResponse(status: status, headers: [("Content-Type", "application/json"), ("Idempotent-Replayed", "true")],
                                 body: Array(body.utf8))
        case .mismatch:
            return .error(422, .idempotencyKeyReused, "Idempotency-Key '\(key)' was used for a different request")
        case .miss:
            // A committed change records the key and its reply in the same journal record.
            // Refusals and dry runs are not recorded: repeating them changes nothing.
            pendingIdempotency = IdempotencyContext(key: key, method: request.method, path: request.path, bodyHash: bodyHash)
            defer { pendingIdempotency = nil }
            return waitingForFleet(route(request, segments: segments), request: request)
        }
    }

    private func authenticate(_ request: AdminRequest) -> AdminResponse? {
        guard let token else { return nil }
        let header = request.header("Authorization") ?? ""
        let prefix = "Bearer "
        let presented = header.hasPrefix(prefix) ? Array(header.dropFirst(prefix.count).utf8) : []
        if ConstantTime.equal(presented, token) { return nil }
        return .error(401, .unauthorized, header.isEmpty ? "missing bearer token" : "invalid bearer token",
                      headers: [("WWW-Authenticate", "Bearer realm=\"turnout\"")])
    }

    private func route(_ request: AdminRequest, segments: [String]) -> AdminResponse {
        let method = request.method == "HEAD" ? "GET" : request.method
        func match(_ pattern: String) -> [String]? {
            let parts = pattern.split(separator: "/").map(String.init)
            guard parts.count == segments.count else { return nil }
            var captured: [String] = []
            for (part, segment) in zip(parts, segments) {
                if part == "*" { captured.append(segment) } else if part != segment { return nil }
            }
            return captured
        }
        do throws(AdminFailure) {
            switch method {
            case "GET":
                if match("metrics") != nil { return .text(200, renderMetrics(), contentType: "text/plain; version=0.0.4; charset=utf-8") }
                if match("v1/status") != nil { return status() }
                if match("v1/figures") != nil { return try getFigures(request) }
                if match("v1/events") != nil { return try getEvents(request) }
                if match("v1/reports") != nil { return try getReports(request) }
                if let c = match("v1/reports/*") { return try getReport(c[0]) }
                if match("v1/audit") != nil { return try auditLog(request) }
                if let c = match("v1/target-groups/*/targets") { return try getTargets(group: c[0]) }
                if match("v1/deployments") != nil { return try getDeployments(request) }
                if let c = match("v1/deployments/*") { return try getDeployment(c[0]) }
                if let c = match("v1/deployments/*/report") { return try getDeploymentReport(c[0]) }
            case "PUT":
                if match("v1/routing") != nil { return try putRouting(request) }
                if let c = match("v1/listeners/*/forward") { return try putListenerForward(request, listener: c[0]) }
                if let c = match("v1/listeners/*/rules/*/forward") {
                    return try putRuleForward(request, listener: c[0], rule: c[1])
                }
                if let c = match("v1/target-groups/*/targets") { return try putTargets(request, group: c[0]) }
            case "POST":
                if match("v1/switch") != nil { return try postSwitch(request) }
                if match("v1/reload") != nil { return try postReload(request) }
                if match("v1/tls/reload") != nil { return try postTLSReload(request) }
                if match("v1/reset") != nil { return try postReset(request) }
                if match("v1/logs/reopen") != nil { return try postLogsReopen(request) }
                if let c = match("v1/target-groups/*/targets") { return try postTargets(request, group: c[0]) }
                if match("v1/deployments") != nil { return try postDeployment(request) }
                if let c = match("v1/deployments/*/*") { return try postDeploymentAction(request, id: c[0], action: c[1]) }
            case "DELETE":
                if let c = match("v1/target-groups/*/targets/*") { return try deleteTarget(request, group: c[0], target: c[1]) }
            default:
                break
            }
            return unrouted(request.method, segments)
        } catch {
            return error.response
        }
    }

    /// Whether `method` on this path reaches an endpoint (idempotency applies only then).
    private func isRouted(_ method: String, _ segments: [String]) -> Bool {
        allowedMethods(segments)?.contains(method) ?? false
    }

    /// 405 with `Allow` for a known path and a wrong method, 404 otherwise.
    private func unrouted(_ method: String, _ segments: [String]) -> AdminResponse {
        guard let allowed = allowedMethods(segments) else {
            return .error(404, .notFound, "no such endpoint: \(method) /\(segments.joined(separator: "/"))")
        }
        return .error(405, .methodNotAllowed, "\(method) is not allowed here; use \(allowed.joined(separator: ", "))",
                      headers: [("Allow", allowed.joined(separator: ", "))])
    }

    /// The methods a known path accepts; nil for an unknown path.
    private func allowedMethods(_ segments: [String]) -> [String]? {
        let s = segments
        if s == ["healthz"] || s == ["metrics"] || s == ["v1", "status"] || s == ["v1", "audit"] || s == ["v1", "figures"]
            || s == ["v1", "events"] || s == ["v1", "reports"] || (s.count == 3 && s[0] == "v1" && s[1] == "reports") {
            return ["GET", "HEAD"]
        }
        if s == ["v1", "deployments"] { return ["GET", "HEAD", "POST"] }
        if s.count == 3 && s[0] == "v1" && s[1] == "deployments" { return ["GET", "HEAD"] }
        if s.count == 4 && s[0] == "v1" && s[1] == "deployments" { return s[3] == "report" ? ["GET", "HEAD"] : ["POST"] }
        if s == ["v1", "routing"] { return ["PUT"] }
        if s == ["v1", "switch"] || s == ["v1", "reload"] || s == ["v1", "reset"] || s == ["v1", "tls", "reload"]
            || s == ["v1", "logs", "reopen"] {
            return ["POST"]
        }
        if s.count == 4 && s[0] == "v1" && s[1] == "listeners" && s[3] == "forward" { return ["PUT"] }
        if s.count == 6 && s[0] == "v1" && s[1] == "listeners" && s[3] == "rules" && s[5] == "forward" { return ["PUT"] }
        if s.count == 4 && s[0] == "v1" && s[1] == "target-groups" && s[3] == "targets" { return ["GET", "HEAD", "PUT", "POST"] }
        if s.count == 5 && s[0] == "v1" && s[1] == "target-groups" && s[3] == "targets" { return ["DELETE"] }
        return nil
    }
}

/// Comparison whose time does not depend on where the inputs differ.
enum ConstantTime {
    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        let count = max(a.count, b.count)
        for i in 0..<count {
            let x = i < a.count ? a[i] : 0
            let y = i < b.count ? b[i] : 0
            difference |= x ^ y
        }
        return difference == 0 && !b.isEmpty
    }
}
