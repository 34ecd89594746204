import COpenSSL
import Glibc
import TurnoutMetrics
import TurnoutPosix

/// One TLS connection over a non-blocking socket, server-side (an HTTPS client of a listener) or client-side (an
/// upstream connection to a target of a group with `tls`): the handshake, reads and writes as the data plane's
/// `IOResult`s, and close_notify. Each call does what the socket allows and returns; OpenSSL's wish to read when
/// asked to write (or the reverse) is kept (`readWantsWrite`, `writeWantsRead`) so that the caller knows which
/// readiness to wait for.
public final class TLSSession {
    /// `SSL *`.
    private let ssl: OpaquePointer
    /// The socket BIO the session reads through, watched so that a read can tell whether it drained the socket.
    private let readBIO: OpaquePointer?
    /// The contexts the session started in (a `TLSServerContext` or a `TLSClientContext`), whose callbacks it
    /// calls during its handshake: kept alive while the session lives, even after new certificates replaced them
    /// for new connections.
    private let context: AnyObject
    /// The last read stopped because OpenSSL must write first (the socket's room wakes it).
    public private(set) var readWantsWrite = false
    /// The last write stopped because OpenSSL must read first (the socket's input wakes it).
    public private(set) var writeWantsRead = false
    public private(set) var established = false
    private var closeNotifySent = false
    /// OpenSSL's code for the last read or write that failed on a protocol error (0: none), kept so that a caller
    /// off the hot path can say why (`protocolFailure`): a TLS 1.3 server refuses a client's certificate after
    /// the client's handshake is done, in an alert the first read gets.
    private var lastProtocolError: UInt = 0

    /// `ssl` already has its socket (`SSL_set_fd`).
    init(ssl: OpaquePointer, context: AnyObject) {
        self.ssl = ssl
        self.context = context
        readBIO = SSL_get_rbio(ssl)
        if let readBIO { turnout_bio_watch_reads(readBIO) }
    }

    deinit { SSL_free(ssl) }

    /// What a step of the handshake came to.
    public enum HandshakeStep: Equatable {
        case done
        /// Waits for the socket to be readable.
        case wantRead
        /// Waits for the socket to have room.
        case wantWrite
        /// The handshake failed: why, as counted, and the library's reason, for the log (the client gets an alert
        /// if one was due).
        case failed(TLSHandshakeFailure, String)
    }

    /// Advances the handshake as far as the socket allows.
    public func handshake() -> HandshakeStep {
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            established = true
            return .done
        }
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case SSL_ERROR_SYSCALL, SSL_ERROR_ZERO_RETURN:
            let err = errno
            ERR_clear_error()
            return .failed(.closed, err == 0 ? "the peer closed during the handshake" : String(cString: strerror(err)))
        default:
            let verified = SSL_get_verify_result(ssl)
            guard verified == Int(X509_V_OK) else {
                ERR_clear_error()
                let reason = X509_verify_cert_error_string(verified).map { String(cString: $0) } ?? "code \(verified)"
                return .failed(.certificateVerify, "certificate verify failed: \(reason)")
            }
            return Self.takeQueuedFailure()
        }
    }

    /// The protocol ALPN agreed on, if any.
    public var negotiatedProtocol: String? {
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    /// Decrypted bytes into `bytes`. `.wouldBlock` when nothing can be read yet (see `readWantsWrite`),
    /// `.endOfFile` on close_notify or a TCP close, `.failed` on a protocol error (EPROTO) or a socket error.
    @inline(__always)
    public func read(into bytes: UnsafeMutableRawBufferPointer) -> IOResult {
        readWantsWrite = false
        let n = SSL_read(ssl, bytes.baseAddress, Int32(clamping: bytes.count))
        if n > 0 { return .bytes(Int(n)) }
        return outcome(of: n, wouldBlockWhen: SSL_ERROR_WANT_READ, crossedWhen: SSL_ERROR_WANT_WRITE,
                       crossed: &readWantsWrite)
    }

    /// Whether a read that returned bytes left nothing behind: the socket's last read(2) came back short (so the
    /// next byte to arrive raises a new edge) and the session holds no record, read ahead or decrypted, for the
    /// next call. Then read readiness may end without another read for the WANT_READ, as a short read ends it on
    /// a plain socket. A short `read(into:)` alone says nothing: it returns one record's bytes at a time.
    @inline(__always)
    public var drained: Bool {
        guard let readBIO else { return false }
        return turnout_bio_drained(readBIO) != 0 && SSL_has_pending(ssl) == 0
    }

    /// Encrypts and sends `bytes`, or part of them (partial writes are on). A write that could not go out is to
    /// be retried with at least the same bytes, from wherever they are then.
    @inline(__always)
    public func write(from bytes: UnsafeRawBufferPointer) -> IOResult {
        writeWantsRead = false
        guard !bytes.isEmpty else { return .wouldBlock }
        let n = SSL_write(ssl, bytes.baseAddress, Int32(clamping: bytes.count))
        if n > 0 { return .bytes(Int(n)) }
        return outcome(of: n, wouldBlockWhen: SSL_ERROR_WANT_WRITE, crossedWhen: SSL_ERROR_WANT_READ,
                       crossed: &writeWantsRead)
    }

    /// Sends close_notify, once and as far as the socket takes it: the peer learns the stream ended whole (a
    /// response read until the close, a tunnel's direction). Not for an abort, which must look cut short.
    public func sendCloseNotify() {
        guard established, !closeNotifySent else { return }
        closeNotifySent = true
        if SSL_shutdown(ssl) < 0 { ERR_clear_error() }
    }

    private func outcome(of result: Int32, wouldBlockWhen waiting: Int32, crossedWhen crossing: Int32,
                         crossed: inout Bool) -> IOResult {
        let error = SSL_get_error(ssl, result)
        switch error {
        case waiting:
            return .wouldBlock
        case crossing:
            crossed = true
            return .wouldBlock
        case SSL_ERROR_ZERO_RETURN:
            return .endOfFile
        case SSL_ERROR_SYSCALL:
            let err = errno
            ERR_clear_error()
            return err == 0 ? .endOfFile : .failed(err)
        default:
            lastProtocolError = ERR_peek_error()
            ERR_clear_error()
            return .failed(EPROTO)
        }
    }

    /// OpenSSL's reason for the last read or write that failed with EPROTO ("tlsv13 alert certificate
    /// required"), nil when it gave none.
    public var protocolFailure: String? {
        guard lastProtocolError != 0 else { return nil }
        return ERR_reason_error_string(lastProtocolError).map { String(cString: $0) }
    }

    /// The failure at the head of OpenSSL's error queue, which it clears.
    private static func takeQueuedFailure() -> HandshakeStep {
        defer { ERR_clear_error() }
        let code = ERR_peek_error()
        guard code != 0 else { return .failed(.other, "TLS protocol error") }
        let text = ERR_reason_error_string(code).map { String(cString: $0) } ?? "code \(code)"
        let failure: TLSHandshakeFailure
        switch ERR_GET_REASON(code) {
        case SSL_R_UNSUPPORTED_PROTOCOL, SSL_R_VERSION_TOO_LOW, SSL_R_NO_PROTOCOLS_AVAILABLE: failure = .protocolVersion
        case SSL_R_NO_SHARED_CIPHER: failure = .noSharedCipher
        case SSL_R_CALLBACK_FAILED, SSL_R_CLIENTHELLO_TLSEXT, SSL_R_PARSE_TLSEXT: failure = .unrecognizedName
        case SSL_R_HTTP_REQUEST, SSL_R_HTTPS_PROXY_REQUEST, SSL_R_WRONG_VERSION_NUMBER, SSL_R_PACKET_LENGTH_TOO_LONG,
             SSL_R_RECORD_LENGTH_MISMATCH, SSL_R_UNSUPPORTED_SSL_VERSION: failure = .notTLS
        default: failure = .other
        }
        return .failed(failure, text)
    }
}
