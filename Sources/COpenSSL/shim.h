#ifndef TURNOUT_COPENSSL_SHIM_H
#define TURNOUT_COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

// Functions for what OpenSSL's headers give as macros (Swift imports none of them), prefixed like
// CTurnoutLinux's wrappers.

static inline int turnout_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}

/// What every server context of the data plane sets: a TCP close without close_notify reads as an end of file
/// (as on a plain connection), no renegotiation, the server's order of suites, no compression; partial writes
/// from a buffer that may move between retries (the connection's output buffer compacts); records read ahead in
/// one read(2) rather than a header and a body.
static inline void turnout_SSL_CTX_set_server_defaults(SSL_CTX *ctx) {
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE
                                 | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_read_ahead(ctx, 1);
}

/// What every client context of the data plane sets (its upstream connections to targets over TLS): the same
/// record handling as the server side, without the server's preference of suites.
static inline void turnout_SSL_CTX_set_client_defaults(SSL_CTX *ctx) {
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_read_ahead(ctx, 1);
}

/// The BIO callback that keeps, in the BIO's callback argument, whether the socket's last read came back short
/// (fewer bytes than asked, nothing to read, or the end): the socket was drained then, so with edge-triggered
/// epoll the next byte to arrive raises a new edge. The argument is the flag itself (non-NULL: drained), so the
/// session needs no storage of its own. Every other operation passes through unchanged.
static long turnout_bio_note_read(BIO *bio, int operation, const char *data, size_t length, int argi, long argl,
                                  int result, size_t *processed) {
    (void)data; (void)argi; (void)argl;
    if (operation == (BIO_CB_READ | BIO_CB_RETURN)) {
        int drained = result <= 0 || processed == NULL || *processed < length;
        BIO_set_callback_arg(bio, drained ? (char *)bio : NULL);
    }
    return result;
}

/// Starts keeping whether `bio`'s last read drained its socket (`turnout_bio_drained`).
static inline void turnout_bio_watch_reads(BIO *bio) {
    BIO_set_callback_arg(bio, NULL);
    BIO_set_callback_ex(bio, turnout_bio_note_read);
}

/// Whether the last read of a BIO watched by `turnout_bio_watch_reads` drained its socket.
static inline int turnout_bio_drained(BIO *bio) {
    return BIO_get_callback_arg(bio) != NULL;
}

/// The name sent in the client's SNI extension (SSL_set_tlsext_host_name).
static inline int turnout_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

static inline long turnout_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_session_cache_mode(ctx, mode);
}

/// Sets up a session ticket's encryption (AES-256-CBC, `cipher` fetched by the caller) and authentication
/// (HMAC-SHA256) with one ticket key's halves, for the ticket key callback (SSL_CTX_set_tlsext_ticket_key_evp_cb):
/// `enc` 1 to issue a ticket, 0 to open one. 1 on success.
static inline int turnout_ticket_key_init(EVP_CIPHER_CTX *cipher_ctx, const EVP_CIPHER *cipher, EVP_MAC_CTX *mac,
                                          const unsigned char *aes_key, const unsigned char *hmac_key,
                                          const unsigned char *iv, int enc) {
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)hmac_key, 32),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_CipherInit_ex(cipher_ctx, cipher, NULL, aes_key, iv, enc) != 1) return 0;
    return EVP_MAC_CTX_set_params(mac, params);
}

/// Adds `cert` (a reference of its own) to the chain of the certificate last set in the context: each key
/// type's certificate has its own chain.
static inline int turnout_SSL_CTX_add1_chain_cert(SSL_CTX *ctx, X509 *cert) {
    return (int)SSL_CTX_add1_chain_cert(ctx, cert);
}

/// The SNI callback and its argument (SSL_CTX_set_tlsext_servername_callback and _arg).
static inline int turnout_SSL_CTX_set_servername_callback(SSL_CTX *ctx, int (*callback)(SSL *, int *, void *),
                                                          void *arg) {
    if (!SSL_CTX_set_tlsext_servername_callback(ctx, callback)) return 0;
    return (int)SSL_CTX_set_tlsext_servername_arg(ctx, arg);
}

/// The names of `cert`'s DNS subjectAltNames, handed one at a time to `each` (an empty list when it has none).
static inline void turnout_X509_dns_names(X509 *cert, void (*each)(const unsigned char *, int, void *), void *arg) {
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    if (names == NULL) return;
    for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *name = sk_GENERAL_NAME_value(names, i);
        if (name->type != GEN_DNS) continue;
        each(ASN1_STRING_get0_data(name->d.dNSName), ASN1_STRING_length(name->d.dNSName), arg);
    }
    GENERAL_NAMES_free(names);
}

/// The certificate's notAfter as seconds since the epoch, or 0 when it cannot be read.
static inline long long turnout_X509_not_after(X509 *cert) {
    const ASN1_TIME *time = X509_get0_notAfter(cert);
    struct tm tm;
    if (time == NULL || !ASN1_TIME_to_tm(time, &tm)) return 0;
    return (long long)timegm(&tm);
}

#endif
