import COpenSSL

/// The OpenSSL library Turnout is linked against (TLS termination grows here).
public enum OpenSSLLibrary {
    /// The version string OpenSSL reports at run time, e.g. "OpenSSL 3.0.19 ...".
    public static var version: String {
        String(cString: OpenSSL_version(OPENSSL_VERSION))
    }
}
