import COpenSSL
import TurnoutCore

/// A worker's own OpenSSL contexts for one HTTPS listener: one `SSL_CTX` per group of certificates served
/// together (one certificate, or an RSA and an ECDSA one for the same names), the first also where every
/// handshake starts, and whose SNI callback moves the connection to the context that serves the name asked for. Built on the worker's thread and used by it only, so that workers share no context
/// (OpenSSL 3 contends on locks in a context many threads use).
public final class TLSServerContext {
    /// `SSL_CTX *` per group of `TLSServerConfiguration.servedTogether`.
    private let contexts: [OpaquePointer]
    private let matcher: ServerNameMatcher
    private let strictSNI: Bool
    /// The ALPN protocols offered, in wire format (a length byte before each name); empty when none is.
    private let alpn: [UInt8]
    private let ticketKeys: SessionTicketKeys
    /// AES-256-CBC, fetched once for every ticket this worker issues or opens.
    private let ticketCipher: OpaquePointer
    /// Where the ticket key in use is copied out of the shared ring (`SessionTicketKeys.keyLength` bytes).
    private let ticketKey: UnsafeMutableRawPointer
    /// The library context every fetch of these contexts goes to (nil: OpenSSL's default one).
    private let library: OpenSSLLibraryContext?

    /// TLS 1.2 suites of the `default` policy: forward-secret (ECDHE) AEAD only. TLS 1.3's suites are all AEAD and
    /// forward-secret; OpenSSL's default list of them is kept.
    static let defaultTLS12Ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
        + "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
        + "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

    /// Builds the contexts in `library` (the worker's own; nil: OpenSSL's default); fails only when OpenSSL
    /// refuses a setting (out of memory, a library without TLS 1.3), with OpenSSL's reason.
    public init(_ configuration: TLSServerConfiguration, library: OpenSSLLibraryContext? = nil) throws(TLSContextError) {
        self.library = library
        matcher = configuration.matcher
        strictSNI = configuration.settings.strictSNI
        var wire: [UInt8] = []
        for name in configuration.settings.alpn {
            wire.append(UInt8(name.utf8.count))
            wire.append(contentsOf: name.utf8)
        }
        alpn = wire
        ticketKeys = configuration.ticketKeys
        guard let cipher = EVP_CIPHER_fetch(library?.pointer, "AES-256-CBC", nil) else {
            throw TLSContextError.fromQueue("fetching AES-256-CBC for session tickets")
        }
        ticketCipher = cipher
        ticketKey = UnsafeMutableRawPointer.allocate(byteCount: SessionTicketKeys.keyLength, alignment: 8)
        var made: [OpaquePointer] = []
        do {
            for group in configuration.servedTogether {
                made.append(try Self.makeContext(group.map { configuration.certificates[$0] }, configuration.settings,
                                                 library: library))
            }
        } catch {
            for context in made { SSL_CTX_free(context) }
            EVP_CIPHER_free(cipher)
            ticketKey.deallocate()
            throw error
        }
        contexts = made
        let this = Unmanaged.passUnretained(self).toOpaque()
        turnout_SSL_CTX_set_servername_callback(contexts[0], { ssl, alert, argument in
            guard let ssl, let argument else { return SSL_TLSEXT_ERR_OK }
            let context = Unmanaged<TLSServerContext>.fromOpaque(argument).takeUnretainedValue()
            return context.selectCertificate(ssl, alert: alert)
        }, this)
        for context in contexts {
            // Tickets are opened by the context a handshake starts in and issued by the one it ends in: both find
            // this object from either.
            SSL_CTX_set_ex_data(context, 0, this)
            SSL_CTX_set_tlsext_ticket_key_evp_cb(context) { ssl, name, iv, cipherContext, mac, issuing in
                guard let ssl, let name, let iv, let cipherContext, let mac,
                      let argument = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), 0) else { return -1 }
                let context = Unmanaged<TLSServerContext>.fromOpaque(argument).takeUnretainedValue()
                return context.ticketKey(name: name, iv: iv, cipherContext, mac, issuing: issuing == 1,
                                         singleUse: SSL_version(ssl) == TLS1_3_VERSION)
            }
        }
        if !alpn.isEmpty {
            for context in contexts {
                SSL_CTX_set_alpn_select_cb(context, { _, out, outLength, offered, offeredLength, argument in
                    guard let out, let outLength, let offered, let argument else { return SSL_TLSEXT_ERR_NOACK }
                    let context = Unmanaged<TLSServerContext>.fromOpaque(argument).takeUnretainedValue()
                    return context.selectProtocol(out, outLength, offered, offeredLength)
                }, this)
            }
        }
    }

    deinit {
        for context in contexts { SSL_CTX_free(context) }
        EVP_CIPHER_free(ticketCipher)
        ticketKey.deallocate()
    }

    /// A server-side session over the connected socket `fd`, or nil when OpenSSL has no memory for one.
    public func makeSession(fd: Int32) -> TLSSession? {
        guard let ssl = SSL_new(contexts[0]) else {
            ERR_clear_error()
            return nil
        }
        SSL_set_fd(ssl, fd)
        SSL_set_accept_state(ssl)
        return TLSSession(ssl: ssl, context: self)
    }

    private static func makeContext(_ certificates: [TLSCertificate], _ settings: ListenerTLSConfig,
                                    library: OpenSSLLibraryContext?) throws(TLSContextError) -> OpaquePointer {
        guard let context = SSL_CTX_new_ex(library?.pointer, nil, TLS_server_method()) else {
            throw TLSContextError.fromQueue("SSL_CTX_new")
        }
        turnout_SSL_CTX_set_server_defaults(context)
        // Resumption by tickets only, whose keys every worker shares (`ticketKey`); a per-context session cache
        // would resume only clients that come back to the same worker.
        _ = turnout_SSL_CTX_set_session_cache_mode(context, Int(SSL_SESS_CACHE_OFF))
        // One TLS 1.3 ticket after a full handshake, not OpenSSL's two (as Go's crypto/tls, under Traefik and Caddy):
        // a client uses a ticket once and gets a new one at every resumption, so one suffices to come back, and
        // each ticket costs its own fetches, encryption and write (ARCHITECTURE.md, HTTPS performance).
        _ = SSL_CTX_set_num_tickets(context, 1)
        let version = settings.minVersion == .tls13 ? TLS1_3_VERSION : TLS1_2_VERSION
        var ok = turnout_SSL_CTX_set_min_proto_version(context, version) == 1
        switch settings.ciphers {
        case .default: ok = ok && SSL_CTX_set_cipher_list(context, defaultTLS12Ciphers) == 1
        }
        for certificate in certificates {
            ok = ok && certificate.install(in: context, library: library)
            guard ok else {
                let error = TLSContextError.fromQueue("setting up \(certificate.certPath)")
                SSL_CTX_free(context)
                throw error
            }
        }
        return context
    }

    /// The ticket key callback: a new ticket is sealed with the newest key (its name in the ticket, a fresh IV);
    /// a ticket offered is opened with the kept key of its name: 2 (OpenSSL then issues a renewed ticket) when
    /// that is an older key or the ticket is `singleUse`, 1 otherwise; 0 when no key has the name (a full
    /// handshake), -1 on an OpenSSL failure.
    ///
    /// A TLS 1.3 ticket is single-use: clients use one once (RFC 8446 §C.4; OpenSSL's client cache retires it
    /// when it resumes), so a resumption that issues none leaves the client's next connection a full handshake.
    /// And a server that sends nothing after the client's Finished leaves the request behind it, held by Nagle
    /// in a client that did not turn it off, waiting for the server's delayed ACK (40 ms): the ticket carries
    /// that ACK. As nginx does; TLS 1.2 tickets are reused as they are until their key is no longer the newest.
    private func ticketKey(name: UnsafeMutablePointer<UInt8>, iv: UnsafeMutablePointer<UInt8>,
                           _ cipherContext: OpaquePointer, _ mac: OpaquePointer, issuing: Bool,
                           singleUse: Bool) -> Int32 {
        defer { OPENSSL_cleanse(ticketKey, SessionTicketKeys.keyLength) }
        let place: Int
        if issuing {
            ticketKeys.copyNewest(into: ticketKey)
            name.update(from: ticketKey.assumingMemoryBound(to: UInt8.self), count: 16)
            guard RAND_bytes(iv, EVP_CIPHER_get_iv_length(ticketCipher)) == 1 else { return -1 }
            place = 0
        } else {
            guard let found = ticketKeys.copyKey(named: name, into: ticketKey) else { return 0 }
            place = found
        }
        let key = ticketKey.assumingMemoryBound(to: UInt8.self)
        guard turnout_ticket_key_init(cipherContext, ticketCipher, mac, key + 48, key + 16, iv, issuing ? 1 : 0) == 1 else {
            ERR_clear_error()
            return -1
        }
        return place == 0 && !singleUse ? 1 : 2
    }

    /// The SNI callback: moves the connection to the context of the certificate serving the name asked for; with
    /// none (or no name), the first serves, unless `strict_sni` refuses the handshake.
    private func selectCertificate(_ ssl: OpaquePointer, alert: UnsafeMutablePointer<Int32>?) -> Int32 {
        var index: Int?
        if let name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) {
            index = name.withMemoryRebound(to: UInt8.self, capacity: 1) { bytes in
                matcher.match(UnsafeBufferPointer(start: bytes, count: strlen(name)))
            }
        }
        guard let index else {
            if strictSNI {
                alert?.pointee = SSL_AD_UNRECOGNIZED_NAME
                return SSL_TLSEXT_ERR_ALERT_FATAL
            }
            return SSL_TLSEXT_ERR_OK
        }
        if index != 0 { SSL_set_SSL_CTX(ssl, contexts[index]) }
        return SSL_TLSEXT_ERR_OK
    }

    /// The ALPN callback: the first of our protocols the client offers; none in common, no protocol is agreed
    /// (the client may still speak HTTP/1.1).
    private func selectProtocol(_ out: UnsafeMutablePointer<UnsafePointer<UInt8>?>, _ outLength: UnsafeMutablePointer<UInt8>,
                                _ offered: UnsafePointer<UInt8>, _ offeredLength: UInt32) -> Int32 {
        alpn.withUnsafeBufferPointer { ours in
            var selected: UnsafeMutablePointer<UInt8>?
            let outcome = SSL_select_next_proto(&selected, outLength, ours.baseAddress, UInt32(ours.count),
                                                offered, offeredLength)
            guard outcome == OPENSSL_NPN_NEGOTIATED, let selected else { return SSL_TLSEXT_ERR_NOACK }
            out.pointee = UnsafePointer(selected)
            return SSL_TLSEXT_ERR_OK
        }
    }
}

/// OpenSSL refused to set up a context.
public struct TLSContextError: Error, CustomStringConvertible {
    public var description: String

    /// The error naming `what` and the reason at the head of OpenSSL's queue, which it clears.
    static func fromQueue(_ what: String) -> TLSContextError {
        defer { ERR_clear_error() }
        let code = ERR_peek_last_error()
        let reason = code == 0 ? "unknown reason" : ERR_reason_error_string(code).map { String(cString: $0) } ?? "code \(code)"
        return TLSContextError(description: "\(what): \(reason)")
    }
}
