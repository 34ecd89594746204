import COpenSSL
import Glibc

/// A file a certificate pair names that cannot be used: unreadable, not PEM, or a key that does not match its
/// certificate. `file` is the path at fault.
public struct TLSFileError: Error, Sendable, CustomStringConvertible {
    public var file: String
    public var message: String

    public init(file: String, message: String) {
        self.file = file
        self.message = message
    }

    public var description: String { "\(file): \(message)" }
}

/// A certificate chain and its private key, read from PEM files and checked to match; with the names it serves
/// (its DNS subjectAltNames, or its common name when it has none) and its expiry.
///
/// Immutable once loaded, and shared by every worker's contexts: OpenSSL counts references to certificates and
/// keys atomically and nothing modifies them after loading.
public final class TLSCertificate: @unchecked Sendable {
    public let certPath: String
    public let keyPath: String
    /// The leaf certificate (`X509 *`).
    let leaf: OpaquePointer
    /// The intermediates that follow the leaf in the file.
    let chain: [OpaquePointer]
    /// The private key (`EVP_PKEY *`).
    let key: OpaquePointer
    /// The DNS names the certificate serves, as written (`*.example.com` for a wildcard).
    public let names: [String]
    /// notAfter, in seconds since the epoch.
    public let notAfter: Int64
    /// The key's algorithm (`EVP_PKEY_RSA`, `EVP_PKEY_EC`, ...): one context serves one certificate of each, and
    /// OpenSSL picks among them by what the client supports.
    public let keyType: Int32

    /// Reads and checks the pair.
    public init(certPath: String, keyPath: String) throws(TLSFileError) {
        self.certPath = certPath
        self.keyPath = keyPath
        let certificates = try Self.readCertificates(certPath)
        leaf = certificates[0]
        chain = Array(certificates.dropFirst())
        do {
            key = try Self.readKey(keyPath)
        } catch {
            for certificate in certificates { X509_free(certificate) }
            throw error
        }
        guard X509_check_private_key(leaf, key) == 1 else {
            ERR_clear_error()
            for certificate in certificates { X509_free(certificate) }
            EVP_PKEY_free(key)
            throw TLSFileError(file: keyPath, message: "the private key does not match the certificate \(certPath)")
        }
        names = Self.dnsNames(of: leaf)
        keyType = EVP_PKEY_get_base_id(key)
        notAfter = Int64(turnout_X509_not_after(leaf))
    }

    /// A copy of the private key decoded in `library` (the caller frees it), or nil when OpenSSL cannot make one.
    func privateKey(in library: OpenSSLLibraryContext) -> OpaquePointer? {
        var der: UnsafeMutablePointer<UInt8>?
        let length = i2d_PrivateKey(key, &der)
        guard length > 0, let der else {
            ERR_clear_error()
            return nil
        }
        defer {
            OPENSSL_cleanse(der, Int(length))
            CRYPTO_free(der, #fileID, #line)
        }
        var cursor: UnsafePointer<UInt8>? = UnsafePointer(der)
        let copy = d2i_AutoPrivateKey_ex(nil, &cursor, Int(length), library.pointer, nil)
        if copy == nil { ERR_clear_error() }
        return copy
    }

    deinit {
        X509_free(leaf)
        for certificate in chain { X509_free(certificate) }
        EVP_PKEY_free(key)
    }

    /// Makes the pair one `context` (`SSL_CTX *`) presents: the leaf, the chain after it, the key (decoded again in
    /// `library` when the context is made in one). False when OpenSSL refuses one, its reason left on the error
    /// queue.
    func install(in context: OpaquePointer, library: OpenSSLLibraryContext? = nil) -> Bool {
        // Each key type has its own slot in the context: the chain and the key go to the slot the certificate just
        // filled (a listener's RSA and ECDSA certificates for one name side by side).
        var ok = SSL_CTX_use_certificate(context, leaf) == 1
        for intermediate in chain where ok {
            ok = turnout_SSL_CTX_add1_chain_cert(context, intermediate) == 1
        }
        // The key decoded again in the context's library, so that signing with it fetches from there only.
        let libraryKey = library.flatMap { privateKey(in: $0) }
        ok = ok && SSL_CTX_use_PrivateKey(context, libraryKey ?? key) == 1
        EVP_PKEY_free(libraryKey)
        return ok
    }

    private static func openFile(_ path: String) throws(TLSFileError) -> OpaquePointer {
        guard let bio = BIO_new_file(path, "r") else {
            let reason = String(cString: strerror(errno))
            ERR_clear_error()
            throw TLSFileError(file: path, message: "cannot read: \(reason)")
        }
        return bio
    }

    /// The leaf and the chain after it, in file order.
    private static func readCertificates(_ path: String) throws(TLSFileError) -> [OpaquePointer] {
        let bio = try openFile(path)
        defer { BIO_free(bio) }
        var certificates: [OpaquePointer] = []
        while let certificate = PEM_read_bio_X509(bio, nil, nil, nil) { certificates.append(certificate) }
        // The loop ends on the end of the file (an expected "no start line") or on a damaged block.
        let endedCleanly = certificates.count > 0 && ERR_GET_REASON(ERR_peek_last_error()) == PEM_R_NO_START_LINE
        ERR_clear_error()
        guard endedCleanly else {
            for certificate in certificates { X509_free(certificate) }
            throw TLSFileError(file: path, message: certificates.isEmpty
                ? "not a PEM certificate (expected -----BEGIN CERTIFICATE-----)"
                : "a PEM block after the first certificate is damaged")
        }
        return certificates
    }

    private static func readKey(_ path: String) throws(TLSFileError) -> OpaquePointer {
        let bio = try openFile(path)
        defer { BIO_free(bio) }
        guard let key = PEM_read_bio_PrivateKey(bio, nil, nil, nil) else {
            ERR_clear_error()
            throw TLSFileError(file: path, message: "not a PEM private key (expected -----BEGIN PRIVATE KEY----- or a key type's own block)")
        }
        return key
    }

    private static func dnsNames(of certificate: OpaquePointer) -> [String] {
        final class Collected { var names: [String] = [] }
        let collected = Collected()
        turnout_X509_dns_names(certificate, { bytes, count, context in
            guard let bytes, let context else { return }
            let names = Unmanaged<Collected>.fromOpaque(context).takeUnretainedValue()
            names.names.append(String(decoding: UnsafeBufferPointer(start: bytes, count: Int(count)), as: UTF8.self))
        }, Unmanaged.passUnretained(collected).toOpaque())
        if !collected.names.isEmpty { return collected.names }
        // No subjectAltName: the subject's common name, as older certificates carry it.
        var buffer = [CChar](repeating: 0, count: 256)
        let subject = X509_get_subject_name(certificate)
        let length = X509_NAME_get_text_by_NID(subject, NID_commonName, &buffer, Int32(buffer.count))
        guard length > 0 else { return [] }
        return [String(decoding: buffer[0..<Int(length)].map { UInt8(bitPattern: $0) }, as: UTF8.self)]
    }
}
