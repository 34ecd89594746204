import TurnoutCore
import TurnoutMetrics
import TurnoutTLS

/// HTTPS listeners' certificates and target groups' CA files at run time: read again on SIGHUP and
/// `POST /v1/tls/reload`, the certificates shown in the status and the metrics. A reload reads every file first
/// and replaces nothing unless all of them load: a bad file is refused naming its key and path, and what is in
/// force keeps serving. New handshakes use the new files; connections already open (pooled upstream ones too)
/// keep their sessions.
extension ControlPlane {
    /// Reads every HTTPS listener's certificate files and every target group's CA file again and, when all load,
    /// hands them to the data plane (and the health checks). Logs the outcome in one line; returns the error of
    /// the first file that did not load.
    @discardableResult
    public func reloadCertificates(caller: String) -> ConfigError? {
        var loaded: [String: TLSServerConfiguration] = [:]
        var upstreamGroups: [String] = []
        do throws(ConfigError) {
            for listener in config.listeners {
                guard let tls = listener.tls else { continue }
                loaded[listener.name] = try TLSServerConfiguration.load(tls, key: "listeners.\(listener.name).tls")
            }
            for group in config.targetGroups {
                guard let tls = group.tls else { continue }
                try TLSClientContext.check(tls, group: group.name)
                upstreamGroups.append(group.name)
            }
        } catch {
            logger.error("certificates not reloaded (\(caller)), the ones in force keep serving: \(error)")
            return error
        }
        guard !loaded.isEmpty || !upstreamGroups.isEmpty else { return nil }
        for (name, configuration) in loaded { dataPlane.replaceCertificates(listener: name, with: configuration) }
        if !loaded.isEmpty { certificates = loaded }
        if !upstreamGroups.isEmpty {
            dataPlane.reloadUpstreamTLS()
            health.reloadTLS()
        }
        let summary = loaded.keys.sorted().map { "\($0): \(loaded[$0]!.certificates.count)" }
            + upstreamGroups.map { "target group \($0): CA file" }
        logger.notice("certificates reloaded (\(caller)); new handshakes use them: \(summary.joined(separator: ", "))")
        return nil
    }

    /// Rotates `listener`'s session ticket keys every `ticket_key_rotation` (of the settings in force at each turn),
    /// on the control loop: the workers read the ring at their next handshake. A reload replaces the ring, and
    /// the next turn rotates the new one.
    func scheduleTicketKeyRotation(listener: String) {
        guard let interval = certificates[listener]?.settings.ticketKeyRotation else { return }
        clock.schedule(after: interval.nanoseconds) { [weak self] in
            guard let self else { return }
            certificates[listener]?.ticketKeys.rotate()
            scheduleTicketKeyRotation(listener: listener)
        }
    }

    /// `POST /v1/tls/reload`: the certificates in force after the reload, by listener, or 422
    /// `tls_reload_refused` naming the key and the file at fault.
    func postTLSReload(_ request: AdminRequest) throws(AdminFailure) -> AdminResponse {
        if !request.body.isEmpty { _ = try JSONValue.parseBody(request.body).members("the body", allowed: []) }
        if let error = reloadCertificates(caller: request.peer) {
            throw AdminFailure(status: 422, code: .tlsReloadRefused, message: "\(error)")
        }
        var listeners: [String: JSONValue] = [:]
        for (name, configuration) in certificates { listeners[name] = Self.certificatesJSON(configuration) }
        return .json(200, ["listeners": .object(listeners)])
    }

    /// A listener's certificates for the status: files, names and expiry of each.
    static func certificatesJSON(_ configuration: TLSServerConfiguration) -> JSONValue {
        [
            "certificates": .array(configuration.certificates.map { certificate in
                [
                    "cert": .string(certificate.certPath),
                    "key": .string(certificate.keyPath),
                    "names": .array(certificate.names.map { .string($0) }),
                    "not_after": .string(AuditTimestamp.iso8601(milliseconds: UInt64(max(0, certificate.notAfter)) * 1000)),
                ]
            }),
            "min_version": .string(configuration.settings.minVersion.rawValue),
            "strict_sni": .bool(configuration.settings.strictSNI),
            "ticket_key_rotation": .string(configuration.settings.ticketKeyRotation.description),
            "ticket_key_rotations": .int(Int64(configuration.ticketKeys.rotations)),
        ]
    }

    /// `turnout_tls_certificate_expiry_timestamp_seconds`, one sample per listener and certificate file.
    var certificateExpirySamples: [MetricSample] {
        certificates.keys.sorted().flatMap { listener in
            certificates[listener]!.certificates.map { certificate in
                MetricSample(labels: [("listener", listener), ("cert", certificate.certPath)],
                             value: Double(certificate.notAfter))
            }
        }
    }
}
