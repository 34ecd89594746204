import COpenSSL
import Glibc
import TurnoutCore

/// A worker's OpenSSL context for the upstream connections of one target group with `tls`: the client side of
/// re-encrypting to targets. Built on the worker's thread and used by it only, as the server contexts are.
///
/// With `verify`, a handshake succeeds only when the target's chain leads to a certificate of `caFile` (the
/// system's store when there is none) and the certificate names the host the session was made for. With
/// `certificate`, it is presented to a server that asks for one (etcd's `--client-cert-auth`). The control
/// thread's etcd client uses one too.
public final class TLSClientContext {
    /// `SSL_CTX *`.
    private let context: OpaquePointer
    public let verify: Bool
    /// The library context its fetches go to (nil: OpenSSL's default one).
    private let library: OpenSSLLibraryContext?

    /// Builds the context; fails when the CA file cannot be read or OpenSSL refuses a setting, with OpenSSL's
    /// reason.
    public init(verify: Bool, caFile: String?, certificate: TLSCertificate? = nil,
                library: OpenSSLLibraryContext? = nil) throws(TLSContextError) {
        guard let context = SSL_CTX_new_ex(library?.pointer, nil, TLS_client_method()) else {
            throw TLSContextError.fromQueue("SSL_CTX_new")
        }
        turnout_SSL_CTX_set_client_defaults(context)
        var ok = turnout_SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION) == 1
        if verify {
            if let caFile {
                ok = ok && SSL_CTX_load_verify_file(context, caFile) == 1
            } else {
                ok = ok && SSL_CTX_set_default_verify_paths(context) == 1
            }
        }
        var what = caFile.map { "loading \($0)" } ?? "setting up the upstream TLS context"
        if ok, let certificate {
            what = "setting up \(certificate.certPath)"
            ok = certificate.install(in: context)
        }
        guard ok else {
            let error = TLSContextError.fromQueue(what)
            SSL_CTX_free(context)
            throw error
        }
        SSL_CTX_set_verify(context, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nil)
        self.context = context
        self.verify = verify
        self.library = library
    }

    deinit { SSL_CTX_free(context) }

    /// Reads target group `group`'s CA file as its contexts will (`serve`, `check` and every reload): a failure is
    /// a `ConfigError` at `target_groups.<group>.tls.ca_file` (`.tls` without one), whose line `lines` knows.
    public static func check(_ settings: UpstreamTLSConfig, group: String,
                             lines: ConfigSourceMap? = nil) throws(ConfigError) {
        do {
            _ = try TLSClientContext(verify: settings.verify, caFile: settings.caFile)
        } catch {
            let key = "target_groups.\(group).tls" + (settings.caFile == nil ? "" : ".ca_file")
            throw ConfigError(key: key, line: lines?.line(of: key), message: "\(error)")
        }
    }

    /// A client-side session over the connected socket `fd`, sending `serverName` as SNI (unless it is an IP
    /// address, which SNI cannot carry) and, with `verify`, requiring the certificate to name it. Nil when
    /// OpenSSL has no memory for one.
    public func makeSession(fd: Int32, serverName: String) -> TLSSession? {
        guard let ssl = SSL_new(context) else {
            ERR_clear_error()
            return nil
        }
        let isAddress = serverName.withCString { name in
            var bytes = [UInt8](repeating: 0, count: 16)
            return inet_pton(AF_INET, name, &bytes) == 1 || inet_pton(AF_INET6, name, &bytes) == 1
        }
        var ok = isAddress || turnout_SSL_set_tlsext_host_name(ssl, serverName) == 1
        if verify {
            // An address is checked against the certificate's IP subjectAltNames, a name against its DNS ones.
            ok = ok && (isAddress ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), serverName)
                                  : SSL_set1_host(ssl, serverName)) == 1
        }
        guard ok, SSL_set_fd(ssl, fd) == 1 else {
            ERR_clear_error()
            SSL_free(ssl)
            return nil
        }
        SSL_set_connect_state(ssl)
        return TLSSession(ssl: ssl, context: self)
    }
}
