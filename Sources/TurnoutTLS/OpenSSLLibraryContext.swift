import COpenSSL

/// A worker's own OpenSSL library context (`OSSL_LIB_CTX`): the contexts it makes fetch their algorithms from
/// it, so that workers share no method store (OpenSSL 3.0's fetches take its locks on every handshake, and a
/// store many threads use contends on them: openssl/openssl#20286). Every context made in it holds it, so it is
/// freed after the last of them.
public final class OpenSSLLibraryContext {
    /// `OSSL_LIB_CTX *`.
    let pointer: OpaquePointer

    /// A fresh library context; its default provider is loaded at the first fetch.
    public init() {
        // Fails only without memory, which the process would not survive anyway.
        guard let made = OSSL_LIB_CTX_new() else { preconditionFailure("OpenSSL could not make a library context") }
        pointer = made
    }

    deinit { OSSL_LIB_CTX_free(pointer) }
}
