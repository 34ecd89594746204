/// A listener's HTTPS settings (`listeners.<name>.tls`): the certificates it serves, picked by the name a client
/// asks for (SNI) among each certificate's own names, and the protocol it accepts. The files are read and
/// checked by TurnoutTLS (`TLSServerConfiguration`), not here: the model holds paths only.
public struct ListenerTLSConfig: Sendable, Hashable {
    /// A certificate (PEM, the leaf first, then its chain) and its private key (PEM).
    public struct CertificateFiles: Sendable, Hashable {
        public var cert: String
        public var key: String

        public init(cert: String, key: String) {
            self.cert = cert
            self.key = key
        }
    }

    /// The oldest protocol version accepted.
    public enum MinimumVersion: String, Sendable, Hashable, CaseIterable {
        case tls12 = "1.2"
        case tls13 = "1.3"
    }

    /// The cipher suites offered. `default`: forward-secret AEAD suites only (ECDHE with AES-GCM or
    /// ChaCha20-Poly1305 for TLS 1.2; TLS 1.3's own suites), as a modern ALB policy.
    public enum CipherPolicy: String, Sendable, Hashable, CaseIterable {
        case `default`
    }

    /// In file order; the first serves clients that send no name, or one no certificate has.
    public var certificates: [CertificateFiles]
    /// A directory whose every pair is served after `certificates`, in name order (as HAProxy's `crt <dir>`):
    /// `name.pem` or `name.crt` with its key in `name.key`, or both in the one file. Read again on every reload.
    public var certificatesDir: String?
    public var minVersion: MinimumVersion
    public var ciphers: CipherPolicy
    /// Protocols offered by ALPN, in preference order (`http/1.1`, `http/1.0`: Turnout speaks HTTP/1.x).
    public var alpn: [String]
    /// A client whose name no certificate has (or that sends none) is refused during the handshake instead of
    /// getting the first certificate.
    public var strictSNI: Bool
    /// How often the session ticket keys rotate (`ticket_key_rotation`): a ticket resumes until its key is two
    /// rotations old, so for one to two of these.
    public var ticketKeyRotation: ConfigDuration

    /// The shortest `ticket_key_rotation` accepted.
    public static let shortestTicketKeyRotation = ConfigDuration.seconds(1)

    /// The ALPN protocol names a listener may offer.
    public static let offerableProtocols = ["http/1.1", "http/1.0"]

    public init(certificates: [CertificateFiles], certificatesDir: String? = nil, minVersion: MinimumVersion = .tls12,
                ciphers: CipherPolicy = .default, alpn: [String] = ["http/1.1"], strictSNI: Bool = false,
                ticketKeyRotation: ConfigDuration = .seconds(12 * 3600)) {
        self.certificates = certificates
        self.certificatesDir = certificatesDir
        self.minVersion = minVersion
        self.ciphers = ciphers
        self.alpn = alpn
        self.strictSNI = strictSNI
        self.ticketKeyRotation = ticketKeyRotation
    }
}
