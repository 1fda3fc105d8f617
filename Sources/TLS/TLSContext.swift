public import Foundation
internal import COpenSSL
internal import COpenSSLShims
public import Cryptography

/// A TLS protocol version this module will negotiate.
public enum TLSVersion: Sendable, Hashable, Comparable, CaseIterable {
    /// TLS 1.2 (RFC 5246), with ECDHE key exchange and AEAD ciphers only.
    case tls12
    /// TLS 1.3 (RFC 8446).
    case tls13

    var openSSLValue: Int32 {
        switch self {
        case .tls12: TLS1_2_VERSION
        case .tls13: TLS1_3_VERSION
        }
    }

    var displayName: String { self == .tls12 ? "TLS 1.2" : "TLS 1.3" }
}

/// A configured `SSL_CTX`: certificates, keys, trust roots, versions and ciphers, shared by every
/// connection of one role (the HTTPS listener, the node-to-node client, …).
///
/// Built once at startup by one of the factories, which check the files the way an operator needs
/// (each failure is one line naming the file) and never changed afterwards.
// Safety: the SSL_CTX is fully configured inside the factory before the object is returned and no
// method mutates it afterwards. OpenSSL documents an SSL_CTX as usable from many threads at once
// for SSL_new (its reference counts and session cache take their own locks), which is all that
// connections do with it.
public final class TLSContext: @unchecked Sendable {
    /// Which side of the handshake connections made from this context take.
    public enum Role: Sendable, Hashable {
        /// Accepts connections (SSL_set_accept_state).
        case server
        /// Opens connections and verifies the server (SSL_set_connect_state).
        case client
    }

    /// Which side of the handshake connections made from this context take.
    public let role: Role
    let pointer: OpaquePointer

    /// TLS 1.2 cipher suites: ECDHE key exchange and AEAD only (TLS 1.3 suites are all AEAD).
    static let tls12Ciphers = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")

    private init(role: Role, pointer: OpaquePointer) {
        self.role = role
        self.pointer = pointer
    }

    deinit { SSL_CTX_free(pointer) }

    // MARK: - Servers

    /// A server context from files.
    ///
    /// - Parameters:
    ///   - certificateChainFile: PEM, the server certificate first, then any intermediates.
    ///   - privateKeyFile: PEM private key; must be mode 0600 (or 0400): no group or other access.
    ///   - clientCAFile: PEM CA certificates that client certificates must chain to; the only trust
    ///     roots used. Given alone, client certificates are requested and verified if sent.
    ///   - requireClientCertificate: refuse clients without a valid certificate (mutual TLS);
    ///     needs `clientCAFile`.
    ///   - minimumVersion, maximumVersion: the versions to negotiate.
    ///   - now: the time at which the certificate must be valid (the node passes its clock).
    /// - Throws: `TLSError` of kind `.configuration`, whose message names the file and the problem.
    public static func server(
        certificateChainFile: String,
        privateKeyFile: String,
        clientCAFile: String? = nil,
        requireClientCertificate: Bool = false,
        minimumVersion: TLSVersion = .tls12,
        maximumVersion: TLSVersion = .tls13,
        now: Date = Date()
    ) throws(TLSError) -> TLSContext {
        let certificateOrigin = PEMOrigin(noun: "certificate", path: certificateChainFile)
        let keyOrigin = PEMOrigin(noun: "private key", path: privateKeyFile)
        let chain = try PEMLoader.readFile(certificateOrigin, requireOwnerOnly: false)
        let key = SecureBytes(try PEMLoader.readFile(keyOrigin, requireOwnerOnly: true))
        var trust: TrustInput?
        if let clientCAFile {
            let origin = PEMOrigin(noun: "CA certificate", path: clientCAFile)
            trust = TrustInput(pem: try PEMLoader.readFile(origin, requireOwnerOnly: false), origin: origin)
        }
        return try make(
            role: .server,
            identity: IdentityInput(chain: chain, chainOrigin: certificateOrigin, key: key, keyOrigin: keyOrigin),
            trust: trust,
            requirePeerCertificate: requireClientCertificate,
            versions: (minimumVersion, maximumVersion),
            now: now
        )
    }

    /// A server context from PEM held in memory (tests, and certificates the node generated).
    /// Parameters and errors as for the file variant.
    public static func server(
        certificateChainPEM: String,
        privateKeyPEM: SecureBytes,
        clientCAPEM: String? = nil,
        requireClientCertificate: Bool = false,
        minimumVersion: TLSVersion = .tls12,
        maximumVersion: TLSVersion = .tls13,
        now: Date = Date()
    ) throws(TLSError) -> TLSContext {
        try make(
            role: .server,
            identity: IdentityInput(
                chain: Array(certificateChainPEM.utf8),
                chainOrigin: PEMOrigin(noun: "certificate"),
                key: privateKeyPEM,
                keyOrigin: PEMOrigin(noun: "private key")
            ),
            trust: clientCAPEM.map { TrustInput(pem: Array($0.utf8), origin: PEMOrigin(noun: "CA certificate")) },
            requirePeerCertificate: requireClientCertificate,
            versions: (minimumVersion, maximumVersion),
            now: now
        )
    }

    // MARK: - Clients

    /// A client context from files. The server's certificate must chain to `trustedCAFile` (the
    /// only trust root: the system store is not used); its name is checked per connection.
    ///
    /// - Parameters:
    ///   - trustedCAFile: PEM CA certificates.
    ///   - certificateChainFile, privateKeyFile: a client certificate for mutual TLS; both or
    ///     neither. The key file must be mode 0600.
    ///   - minimumVersion, maximumVersion: the versions to negotiate.
    ///   - now: the time at which the client certificate must be valid.
    /// - Throws: `TLSError` of kind `.configuration`, whose message names the file and the problem.
    public static func client(
        trustedCAFile: String,
        certificateChainFile: String? = nil,
        privateKeyFile: String? = nil,
        minimumVersion: TLSVersion = .tls12,
        maximumVersion: TLSVersion = .tls13,
        now: Date = Date()
    ) throws(TLSError) -> TLSContext {
        let trustOrigin = PEMOrigin(noun: "CA certificate", path: trustedCAFile)
        let trust = TrustInput(pem: try PEMLoader.readFile(trustOrigin, requireOwnerOnly: false), origin: trustOrigin)
        var identity: IdentityInput?
        switch (certificateChainFile, privateKeyFile) {
        case (nil, nil):
            identity = nil
        case let (chainFile?, keyFile?):
            let chainOrigin = PEMOrigin(noun: "certificate", path: chainFile)
            let keyOrigin = PEMOrigin(noun: "private key", path: keyFile)
            let chain = try PEMLoader.readFile(chainOrigin, requireOwnerOnly: false)
            let key = SecureBytes(try PEMLoader.readFile(keyOrigin, requireOwnerOnly: true))
            identity = IdentityInput(chain: chain, chainOrigin: chainOrigin, key: key, keyOrigin: keyOrigin)
        default:
            throw TLSError(kind: .configuration, message: "a client certificate file and private key file must be given together")
        }
        return try make(
            role: .client, identity: identity, trust: trust, requirePeerCertificate: true,
            versions: (minimumVersion, maximumVersion), now: now
        )
    }

    /// A client context from PEM held in memory. Parameters and errors as for the file variant.
    public static func client(
        trustedCAPEM: String,
        certificateChainPEM: String? = nil,
        privateKeyPEM: SecureBytes? = nil,
        minimumVersion: TLSVersion = .tls12,
        maximumVersion: TLSVersion = .tls13,
        now: Date = Date()
    ) throws(TLSError) -> TLSContext {
        var identity: IdentityInput?
        switch (certificateChainPEM, privateKeyPEM) {
        case (nil, nil):
            identity = nil
        case let (chain?, key?):
            identity = IdentityInput(
                chain: Array(chain.utf8), chainOrigin: PEMOrigin(noun: "certificate"),
                key: key, keyOrigin: PEMOrigin(noun: "private key")
            )
        default:
            throw TLSError(kind: .configuration, message: "a client certificate and private key must be given together")
        }
        return try make(
            role: .client,
            identity: identity,
            trust: TrustInput(pem: Array(trustedCAPEM.utf8), origin: PEMOrigin(noun: "CA certificate")),
            requirePeerCertificate: true,
            versions: (minimumVersion, maximumVersion),
            now: now
        )
    }
}

// MARK: - Building the SSL_CTX

/// Our own certificate chain and its key.
private struct IdentityInput {
    var chain: [UInt8]
    var chainOrigin: PEMOrigin
    var key: SecureBytes
    var keyOrigin: PEMOrigin
}

/// The CA certificates a peer must chain to.
private struct TrustInput {
    var pem: [UInt8]
    var origin: PEMOrigin
}

extension PEMOrigin {
    init(noun: String) { self.init(noun: noun, path: nil) }
}

extension TLSContext {
    fileprivate static func make(
        role: Role,
        identity: IdentityInput?,
        trust: TrustInput?,
        requirePeerCertificate: Bool,
        versions: (minimum: TLSVersion, maximum: TLSVersion),
        now: Date
    ) throws(TLSError) -> TLSContext {
        guard versions.minimum <= versions.maximum else {
            throw TLSError(
                kind: .configuration,
                message: "minimum version \(versions.minimum.displayName) is above maximum version \(versions.maximum.displayName)"
            )
        }
        if role == .server && requirePeerCertificate && trust == nil {
            throw TLSError(kind: .configuration, message: "requiring client certificates needs a client CA file")
        }
        OpenSSLErrorQueue.clear()
        guard let pointer = SSL_CTX_new(role == .server ? TLS_server_method() : TLS_client_method()) else {
            throw .drainingOpenSSL(.configuration, "SSL_CTX_new failed")
        }
        // Owned from here on: a throw below frees it through deinit.
        let context = TLSContext(role: role, pointer: pointer)
        try context.configureProtocol(versions)
        if let identity { try context.useIdentity(identity, now: now) }
        if let trust { try context.trust(trust, requirePeerCertificate: requirePeerCertificate) }
        return context
    }

    private func configureProtocol(_ versions: (minimum: TLSVersion, maximum: TLSVersion)) throws(TLSError) {
        guard COpenSSLShims_SSL_CTX_set_min_proto_version(pointer, versions.minimum.openSSLValue) == 1,
              COpenSSLShims_SSL_CTX_set_max_proto_version(pointer, versions.maximum.openSSLValue) == 1
        else { throw .drainingOpenSSL(.configuration, "cannot set the TLS versions") }
        _ = SSL_CTX_set_options(
            pointer,
            COpenSSLShims_SSL_OP_NO_RENEGOTIATION() | COpenSSLShims_SSL_OP_NO_COMPRESSION()
                | COpenSSLShims_SSL_OP_CIPHER_SERVER_PREFERENCE()
        )
        guard SSL_CTX_set_cipher_list(pointer, Self.tls12Ciphers) == 1 else {
            throw .drainingOpenSSL(.configuration, "cannot set the TLS 1.2 cipher list")
        }
        guard COpenSSLShims_SSL_CTX_set1_groups_list(pointer, "X25519:P-256:P-384") == 1 else {
            throw .drainingOpenSSL(.configuration, "cannot set the key exchange groups")
        }
        // Memory BIOs never ask to retry a write, but Swift arrays move between retries, so the
        // moving-buffer mode costs nothing and removes a trap. Idle connections give back their
        // 34 KB of record buffers. Partial writes are not enabled: `writePlaintext` hands over
        // the whole buffer and a memory BIO takes it all.
        _ = COpenSSLShims_SSL_CTX_set_mode(
            pointer, Int(SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER) | Int(SSL_MODE_RELEASE_BUFFERS)
        )
        if role == .server {
            // Needed to resume sessions of verified clients; the value only has to be stable.
            let id = Array("strongroom".utf8)
            _ = SSL_CTX_set_session_id_context(pointer, id, UInt32(id.count))
        }
    }

    private func useIdentity(_ identity: IdentityInput, now: Date) throws(TLSError) {
        let chain = try PEMLoader.certificates(identity.chain, identity.chainOrigin)
        let leaf = chain.pointers[0]
        try PEMLoader.checkValidity(leaf, identity.chainOrigin, now: now)
        let key = try PEMLoader.privateKey(identity.key, identity.keyOrigin)
        OpenSSLErrorQueue.clear()
        guard X509_check_private_key(leaf, key.pointer) == 1 else {
            throw .drainingOpenSSL(
                .configuration,
                "\(identity.keyOrigin.asObject) does not match \(identity.chainOrigin.asObject)"
            )
        }
        guard SSL_CTX_use_certificate(pointer, leaf) == 1 else {
            throw .drainingOpenSSL(.configuration, "cannot use \(identity.chainOrigin.asObject)")
        }
        guard SSL_CTX_use_PrivateKey(pointer, key.pointer) == 1 else {
            throw .drainingOpenSSL(.configuration, "cannot use \(identity.keyOrigin.asObject)")
        }
        for intermediate in chain.pointers.dropFirst() {
            // The context takes over the reference it is given.
            precondition(X509_up_ref(intermediate) == 1, "X509_up_ref cannot fail on a live certificate")
            guard COpenSSLShims_SSL_CTX_add_extra_chain_cert(pointer, intermediate) == 1 else {
                X509_free(intermediate)
                throw .drainingOpenSSL(.configuration, "cannot add an intermediate of \(identity.chainOrigin.asObject)")
            }
        }
    }

    private func trust(_ trust: TrustInput, requirePeerCertificate: Bool) throws(TLSError) {
        let roots = try PEMLoader.certificates(trust.pem, trust.origin)
        guard let store = SSL_CTX_get_cert_store(pointer) else {
            throw .drainingOpenSSL(.configuration, "SSL_CTX_get_cert_store failed")
        }
        for root in roots.pointers {
            OpenSSLErrorQueue.clear()
            guard X509_STORE_add_cert(store, root) == 1 else {
                throw .drainingOpenSSL(.configuration, "cannot add \(trust.origin.asSource) to the trust store")
            }
            if role == .server {
                guard SSL_CTX_add_client_CA(pointer, root) == 1 else {
                    throw .drainingOpenSSL(.configuration, "cannot add \(trust.origin.asSource) to the client CA list")
                }
            }
        }
        // RFC 5280 strictness, as Python 3.13 applies by default: our own CA issues conforming
        // certificates, so peers whose certificates are not conforming are refused here too.
        _ = X509_STORE_set_flags(store, UInt(X509_V_FLAG_X509_STRICT))
        var mode = SSL_VERIFY_PEER
        if role == .server && requirePeerCertificate { mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT }
        SSL_CTX_set_verify(pointer, mode, nil)
    }
}
