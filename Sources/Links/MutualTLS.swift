package import Foundation
package import TLS

/// The TLS contexts of node-to-node links: mutual TLS 1.3 only, every certificate issued by the
/// cluster CA (the only trust root), each side presenting its node certificate. OpenSSL checks the
/// chain and the validity period during the handshake; the identity in the certificate
/// (`NodeIdentity`) is the application's to check.
package enum MutualTLS {
    /// The listening side: the client must present a certificate that chains to `caFile`.
    ///
    /// - Parameters:
    ///   - certificateFile, privateKeyFile: the node's certificate (PEM, with intermediates) and
    ///     key (PEM, mode 0600).
    ///   - caFile: the cluster CA certificate(s), PEM.
    ///   - now: the time at which the node's own certificate must be valid.
    /// - Throws: `TLSError` of kind `.configuration` naming the file and the problem.
    package static func serverContext(certificateFile: String, privateKeyFile: String, caFile: String, now: Date = Date()) throws(TLSError) -> TLSContext {
        try TLSContext.server(
            certificateChainFile: certificateFile, privateKeyFile: privateKeyFile,
            clientCAFile: caFile, requireClientCertificate: true,
            minimumVersion: .tls13, maximumVersion: .tls13, now: now
        )
    }

    /// The connecting side: presents the node's certificate, trusts only `caFile`. Parameters
    /// and errors as for `serverContext`.
    package static func clientContext(certificateFile: String, privateKeyFile: String, caFile: String, now: Date = Date()) throws(TLSError) -> TLSContext {
        try TLSContext.client(
            trustedCAFile: caFile, certificateChainFile: certificateFile, privateKeyFile: privateKeyFile,
            minimumVersion: .tls13, maximumVersion: .tls13, now: now
        )
    }
}
