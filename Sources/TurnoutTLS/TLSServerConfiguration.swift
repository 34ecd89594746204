import COpenSSL
import TurnoutCore
import TurnoutPosix

/// A listener's HTTPS settings with their files read and checked: what each worker builds its own
/// `TLSServerContext` from. Loading is the check `turnout check` and `serve` share; a failure names the
/// configuration key of the file at fault.
public final class TLSServerConfiguration: Sendable {
    public let certificates: [TLSCertificate]
    public let settings: ListenerTLSConfig
    /// The certificates served together from one context, as indices into `certificates`, in order of their
    /// first: certificates with the same names and different key types (RSA and ECDSA side by side, OpenSSL
    /// picking by the client's signature algorithms and suites); any other certificate alone.
    public let servedTogether: [[Int]]
    /// Which of `servedTogether` serves which name.
    public let matcher: ServerNameMatcher
    /// The listener's session ticket keys, the same in every worker's contexts so that a client resumes whichever
    /// worker accepts it. A new ring with every load: a reload retires every ticket issued before it (the client
    /// makes a full handshake); between reloads the control loop rotates the ring every `ticket_key_rotation`.
    public let ticketKeys = SessionTicketKeys()

    public init(certificates: [TLSCertificate], settings: ListenerTLSConfig) {
        self.certificates = certificates
        self.settings = settings
        servedTogether = Self.group(certificates)
        matcher = ServerNameMatcher(names: servedTogether.map { certificates[$0[0]].names })
    }

    /// A certificate joins the first group with the same names (in any order and case) and no certificate of its
    /// key type; otherwise it starts a group.
    static func group(_ certificates: [TLSCertificate]) -> [[Int]] {
        var groups: [[Int]] = []
        var groupNames: [Set<String>] = []
        for (index, certificate) in certificates.enumerated() {
            let names = Set(certificate.names.map { $0.lowercased() })
            if let group = groups.indices.first(where: { group in
                groupNames[group] == names && !groups[group].contains { certificates[$0].keyType == certificate.keyType }
            }) {
                groups[group].append(index)
            } else {
                groups.append([index])
                groupNames.append(names)
            }
        }
        return groups
    }

    /// Reads every certificate pair of `settings`. `key` is the listener's `tls` key
    /// (`listeners.production.tls`): a failure is a `ConfigError` at `<key>.certificates[i].cert` or `.key`,
    /// whose line `lines` knows.
    public static func load(_ settings: ListenerTLSConfig, key: String,
                            lines: ConfigSourceMap? = nil) throws(ConfigError) -> TLSServerConfiguration {
        var certificates: [TLSCertificate] = []
        for (index, files) in settings.certificates.enumerated() {
            do {
                certificates.append(try TLSCertificate(certPath: files.cert, keyPath: files.key))
            } catch {
                let which = error.file == files.cert && error.file != files.key ? "cert" : "key"
                let path = "\(key).certificates[\(index)].\(which)"
                throw ConfigError(key: path, line: lines?.line(of: path), message: error.description)
            }
        }
        if let directory = settings.certificatesDir {
            let path = "\(key).certificates_dir"
            do {
                certificates += try loadDirectory(directory)
            } catch {
                throw ConfigError(key: path, line: lines?.line(of: path), message: error.description)
            }
            if certificates.isEmpty {
                throw ConfigError(key: path, line: lines?.line(of: path),
                                  message: "\(directory): no certificate in it (name.pem or name.crt, with name.key or the key in the same file)")
            }
        }
        return TLSServerConfiguration(certificates: certificates, settings: settings)
    }

    /// Every pair in `directory`, in name order: `name.pem` or `name.crt`, its key in `name.key` when there is
    /// one, else in the same file.
    static func loadDirectory(_ directory: String) throws(TLSFileError) -> [TLSCertificate] {
        let names: [String]
        do {
            names = try DirectoryListing.names(in: directory)
        } catch {
            throw TLSFileError(file: directory, message: "cannot read the directory: \(error)")
        }
        var certificates: [TLSCertificate] = []
        let present = Set(names)
        for name in names where name.hasSuffix(".pem") || name.hasSuffix(".crt") {
            let stem = String(name.dropLast(4))
            let cert = "\(directory)/\(name)"
            let key = present.contains("\(stem).key") ? "\(directory)/\(stem).key" : cert
            certificates.append(try TLSCertificate(certPath: cert, keyPath: key))
        }
        return certificates
    }

    /// Names served by more than one certificate of one key type, or by certificates whose other names differ:
    /// the first serves them (a warning for `turnout check`). An RSA and an ECDSA certificate with the same names
    /// are served together, not twice.
    public var namesServedTwice: [String] {
        var seen = Set<String>(), twice: [String] = []
        for group in servedTogether {
            for name in Set(certificates[group[0]].names.map { $0.lowercased() }) where !seen.insert(name).inserted {
                twice.append(name)
            }
        }
        return twice
    }
}
