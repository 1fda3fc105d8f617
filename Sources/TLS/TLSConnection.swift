internal import COpenSSL
internal import COpenSSLShims
import Cryptography
import Platform

/// What `TLSConnection.readPlaintext` produced.
public enum TLSReadStatus: Sendable, Hashable {
    /// This many plaintext bytes were appended to the buffer (more may follow: read again).
    case progressed(Int)
    /// Nothing to return until more ciphertext arrives from the socket (this is also the answer
    /// while the handshake is still running).
    case wantMoreCiphertext
    /// The peer sent close_notify: no more plaintext will come.
    case closed
}

/// One TLS connection as a pure byte transformer: ciphertext in, plaintext out, and the reverse.
/// It owns an `SSL` over two memory BIOs and never touches a socket, so the caller chooses the
/// I/O model (and tests pump bytes between two connections in memory).
///
/// The caller's loop: `receiveCiphertext` what the socket read, `readPlaintext` until it returns
/// `.wantMoreCiphertext`, then `drainCiphertext` and send what it gives; after every
/// `writePlaintext` and `shutdown`, drain and send too. Reads can produce ciphertext (handshake
/// messages, TLS 1.3 session tickets, alerts), so drain after reads as well.
///
/// Not thread-safe: one thread at a time, which is what a connection owned by one event loop
/// does. ~Copyable so that the `SSL` has exactly one owner; `close()` or the end of its life
/// frees it.
public struct TLSConnection: ~Copyable {
    /// Plaintext written before the handshake completes is held, up to this many bytes, and sent
    /// when it completes.
    public static let maximumPendingPlaintextBytes = 1 << 20
    /// The largest TLS record payload; `readPlaintext` reads at most this much per SSL_read.
    static let recordBytes = 16 * 1024

    private let ssl: OpaquePointer
    /// Owned by `ssl` (SSL_set_bio); valid while `ssl` is.
    private let inbound: OpaquePointer
    /// Owned by `ssl` (SSL_set_bio); valid while `ssl` is.
    private let outbound: OpaquePointer
    /// Which side of the handshake this connection takes (from its context).
    public let role: TLSContext.Role

    /// Whether the handshake has completed; false until then, true forever after.
    public private(set) var isHandshakeComplete = false
    private var pendingPlaintext: [UInt8] = []
    private var receivedApplicationData = false
    /// We queued close_notify: no more writes.
    private var sentShutdown = false
    /// The peer's close_notify arrived: no more reads or writes.
    private var receivedShutdown = false
    /// A fatal error happened: OpenSSL forbids further use of the `SSL` except freeing it.
    private var failed = false

    /// A connection in the context's role.
    ///
    /// - Parameters:
    ///   - context: the configured context; the connection keeps its own reference to the SSL_CTX.
    ///   - expectedPeerIP: clients only: the server certificate must carry this IP address in its
    ///     subjectAltName ("127.0.0.1", "::1"). IPs are never sent as SNI.
    ///   - expectedHostName: clients only: the server certificate must match this DNS name; it is
    ///     also sent as SNI. An IP literal given here is treated as `expectedPeerIP`.
    ///   When both are given, the certificate must match both. When neither is given, the chain
    ///   is verified against the trusted CAs but no name is checked: only for peers identified by
    ///   their certificate afterwards (see `peerCertificate`).
    /// - Throws: `.configuration` for a name that cannot be used, or names on a server.
    public init(context: TLSContext, expectedPeerIP: String? = nil, expectedHostName: String? = nil) throws(TLSError) {
        if context.role == .server && (expectedPeerIP != nil || expectedHostName != nil) {
            throw TLSError(kind: .configuration, message: "an expected peer IP or host name applies to client connections only")
        }
        OpenSSLErrorQueue.clear()
        guard let ssl = SSL_new(context.pointer) else { throw .drainingOpenSSL(.configuration, "SSL_new failed") }
        // Configured before `self` exists, so that every failure path frees exactly once.
        do {
            try Self.configure(ssl, role: context.role, expectedPeerIP: expectedPeerIP, expectedHostName: expectedHostName)
        } catch {
            SSL_free(ssl)
            throw error
        }
        guard let inbound = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw .drainingOpenSSL(.configuration, "BIO_new failed")
        }
        guard let outbound = BIO_new(BIO_s_mem()) else {
            BIO_free(inbound)
            SSL_free(ssl)
            throw .drainingOpenSSL(.configuration, "BIO_new failed")
        }
        SSL_set_bio(ssl, inbound, outbound)
        self.ssl = ssl
        self.inbound = inbound
        self.outbound = outbound
        self.role = context.role
    }

    private static func configure(
        _ ssl: OpaquePointer, role: TLSContext.Role, expectedPeerIP: String?, expectedHostName: String?
    ) throws(TLSError) {
        switch role {
        case .server:
            SSL_set_accept_state(ssl)
        case .client:
            SSL_set_connect_state(ssl)
            var ips: [String] = expectedPeerIP.map { [$0] } ?? []
            var host: String?
            if let expectedHostName {
                if isIPLiteral(expectedHostName) { ips.append(expectedHostName) } else { host = expectedHostName }
            }
            if let ip = ips.first {
                if ips.count == 2 && ips[0] != ips[1] {
                    throw TLSError(kind: .configuration, message: "expected peer IP \(ips[0]) and host name \(ips[1]) differ")
                }
                guard isIPLiteral(ip), X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ip) == 1 else {
                    throw .drainingOpenSSL(.configuration, "expected peer IP \(ip) is not an IPv4 or IPv6 address")
                }
            }
            if let host {
                guard SSL_set1_host(ssl, host) == 1, COpenSSLShims_SSL_set_tlsext_host_name(ssl, host) == 1 else {
                    throw .drainingOpenSSL(.configuration, "expected host name \(host) cannot be used")
                }
            }
        }
    }

    deinit { SSL_free(ssl) }

    /// Frees the connection now (without sending anything: call `shutdown` and drain first for
    /// an orderly close).
    public consuming func close() {}

    // MARK: - Bytes from the socket

    /// Feeds bytes read from the socket. Call `readPlaintext` afterwards: bytes are only
    /// processed there.
    public mutating func receiveCiphertext(_ bytes: UnsafeRawBufferPointer) {
        guard var base = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            let chunk = min(remaining, Int(Int32.max))
            let written = BIO_write(inbound, base, Int32(chunk))
            // A memory BIO only fails to grow when malloc fails.
            precondition(written == Int32(chunk), "memory BIO write failed: \(OpenSSLErrorQueue.drain())")
            base += chunk
            remaining -= chunk
        }
    }

    /// Feeds bytes read from the socket.
    public mutating func receiveCiphertext(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { receiveCiphertext($0) }
    }

    // MARK: - Plaintext

    /// Advances the handshake if needed, then appends up to `maxBytes` of decrypted data.
    ///
    /// - Returns: `.progressed(n)` with `n > 0` bytes appended, `.wantMoreCiphertext`, or
    ///   `.closed` once the peer's close_notify was read (and on every call after it).
    /// - Throws: `.handshakeFailed` when the handshake fails, including a TLS 1.3 server's
    ///   rejection of our client certificate, which arrives after our side of the handshake
    ///   completed, before any data; `.protocolError` for a fatal alert or corrupt data later;
    ///   `.closed` after an earlier failure. Drain ciphertext after a throw: it may hold an alert.
    public mutating func readPlaintext(into buffer: inout [UInt8], maxBytes: Int = 64 * 1024) throws(TLSError) -> TLSReadStatus {
        precondition(maxBytes > 0, "maxBytes must be positive")
        guard !failed else { throw TLSError(kind: .closed, message: "the TLS connection failed earlier") }
        if receivedShutdown { return .closed }
        if !isHandshakeComplete {
            guard try advanceHandshake() else { return .wantMoreCiphertext }
        }
        var total = 0
        while total < maxBytes {
            let want = min(maxBytes - total, Self.recordBytes)
            var count = 0
            OpenSSLErrorQueue.clear()
            let result = withUnsafeTemporaryAllocation(byteCount: want, alignment: 1) { scratch in
                let ok = SSL_read_ex(ssl, scratch.baseAddress, want, &count)
                if ok == 1 { buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[..<count])) }
                return ok
            }
            if result == 1 {
                total += count
                receivedApplicationData = true
                continue
            }
            switch SSL_get_error(ssl, result) {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                OpenSSLErrorQueue.clear()
                return total > 0 ? .progressed(total) : .wantMoreCiphertext
            case SSL_ERROR_ZERO_RETURN:
                OpenSSLErrorQueue.clear()
                receivedShutdown = true
                return total > 0 ? .progressed(total) : .closed
            default:
                failed = true
                throw readError()
            }
        }
        return .progressed(total)
    }

    /// Encrypts `bytes` for the peer; `drainCiphertext` then holds the records.
    ///
    /// Before the handshake completes the bytes are kept (up to
    /// `maximumPendingPlaintextBytes`) and sent as soon as it does; a client's first write also
    /// starts the handshake, so its ClientHello is ready to drain.
    ///
    /// - Throws: `.closed` after `shutdown`, the peer's close_notify or an earlier failure;
    ///   `.protocolError` when encryption fails or too much is pending; `.handshakeFailed` when
    ///   starting the handshake fails.
    public mutating func writePlaintext(_ bytes: [UInt8]) throws(TLSError) {
        guard !failed, !sentShutdown, !receivedShutdown else {
            throw TLSError(kind: .closed, message: "cannot write: the TLS connection is closed")
        }
        guard !isHandshakeComplete else { return try encrypt(bytes) }
        guard pendingPlaintext.count + bytes.count <= Self.maximumPendingPlaintextBytes else {
            throw TLSError(
                kind: .protocolError,
                message: "more than \(Self.maximumPendingPlaintextBytes) bytes written before the TLS handshake completed"
            )
        }
        pendingPlaintext.append(contentsOf: bytes)
        _ = try advanceHandshake()
    }

    // MARK: - Bytes to the socket

    /// Whether ciphertext is waiting to be sent.
    public var hasPendingCiphertext: Bool { BIO_ctrl_pending(outbound) > 0 }

    /// Appends every byte waiting to go to the socket to `buffer`.
    public mutating func drainCiphertext(into buffer: inout [UInt8]) {
        while true {
            let pending = Int(BIO_ctrl_pending(outbound))
            if pending == 0 { return }
            let start = buffer.count
            buffer.append(contentsOf: repeatElement(0, count: pending))
            let read = buffer.withUnsafeMutableBytes { raw in
                BIO_read(outbound, raw.baseAddress! + start, Int32(clamping: pending))
            }
            precondition(read > 0, "a memory BIO with pending bytes must return them")
            buffer.removeLast(pending - Int(read))
        }
    }

    // MARK: - State

    /// "TLSv1.2" or "TLSv1.3" once the handshake completed.
    public var negotiatedVersion: String? {
        guard isHandshakeComplete, let name = SSL_get_version(ssl) else { return nil }
        return String(cString: name)
    }

    /// The OpenSSL name of the cipher suite, e.g. "TLS_AES_128_GCM_SHA256" or
    /// "ECDHE-ECDSA-AES128-GCM-SHA256", once the handshake completed.
    public var negotiatedCipherSuite: String? {
        guard isHandshakeComplete, let cipher = SSL_get_current_cipher(ssl), let name = SSL_CIPHER_get_name(cipher) else {
            return nil
        }
        return String(cString: name)
    }

    /// The peer's certificate, once the handshake completed and only if it verified against the
    /// context's trusted CAs (a server without a client CA file asks for none: nil).
    public var peerCertificate: PeerCertificate? {
        guard isHandshakeComplete, !failed, SSL_get_verify_result(ssl) == X509_V_OK,
              let certificate = SSL_get1_peer_certificate(ssl) else { return nil }
        defer { X509_free(certificate) }
        return PeerCertificate(x509: certificate)
    }

    /// Queues close_notify (drain and send it). Pending plaintext of an unfinished handshake is
    /// dropped. Reads stay possible, to receive the peer's close_notify; writes throw `.closed`.
    public mutating func shutdown() {
        guard !sentShutdown else { return }
        sentShutdown = true
        pendingPlaintext.removeAll()
        guard isHandshakeComplete, !failed else { return }
        OpenSSLErrorQueue.clear()
        // 0 ("sent, peer's not yet received") and 1 are both fine; nothing to retry with memory BIOs.
        _ = SSL_shutdown(ssl)
        OpenSSLErrorQueue.clear()
    }

    // MARK: - Internals

    /// Runs the handshake as far as the buffered ciphertext allows; true once it is complete.
    private mutating func advanceHandshake() throws(TLSError) -> Bool {
        OpenSSLErrorQueue.clear()
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            isHandshakeComplete = true
            if !pendingPlaintext.isEmpty {
                let pending = pendingPlaintext
                pendingPlaintext = []
                try encrypt(pending)
            }
            return true
        }
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            OpenSSLErrorQueue.clear()
            return false
        default:
            failed = true
            throw TLSError.drainingOpenSSL(.handshakeFailed, "TLS handshake failed\(verificationDetail())")
        }
    }

    private mutating func encrypt(_ bytes: [UInt8]) throws(TLSError) {
        var offset = 0
        while offset < bytes.count {
            var written = 0
            OpenSSLErrorQueue.clear()
            let result = bytes.withUnsafeBytes { raw in
                SSL_write_ex(ssl, raw.baseAddress! + offset, raw.count - offset, &written)
            }
            guard result == 1 else {
                failed = true
                throw TLSError.drainingOpenSSL(.protocolError, "TLS write failed")
            }
            offset += written
        }
    }

    /// A read failure before any application data that is an alert from the peer is the peer
    /// refusing the handshake (TLS 1.3 servers reject client certificates after the client's
    /// side of the handshake completed).
    private func readError() -> TLSError {
        let first = ERR_peek_error()
        let isAlert = ERR_GET_LIB(first) == ERR_LIB_SSL && ERR_GET_REASON(first) >= SSL_AD_REASON_OFFSET
        if isAlert && !receivedApplicationData {
            return .drainingOpenSSL(.handshakeFailed, "TLS handshake rejected by the peer")
        }
        return .drainingOpenSSL(.protocolError, "TLS read failed\(verificationDetail())")
    }

    /// ": certificate verification failed (…)" when the peer's certificate did not verify.
    private func verificationDetail() -> String {
        let result = SSL_get_verify_result(ssl)
        guard result != X509_V_OK, let text = X509_verify_cert_error_string(result) else { return "" }
        return ": certificate verification failed (\(String(cString: text)))"
    }

    static func isIPLiteral(_ text: String) -> Bool { SocketAddress.isIPLiteral(text) }
}
