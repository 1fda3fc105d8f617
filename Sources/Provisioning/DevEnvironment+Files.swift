import Cryptography
package import Foundation
import Platform
import TLS

/// The file-making steps `strongroom dev` and `strongroom cluster init` share: a CA, leaf
/// certificates it signs, and files written atomically with their mode.
extension DevEnvironment {
    /// Writes `bytes` to `path` atomically with `mode`; a failure names the file.
    package static func writeFile(_ bytes: [UInt8], to path: String, mode: UInt32) throws(ProvisioningError) {
        do {
            try Files.writeAtomically(bytes, to: path, mode: mode)
        } catch {
            throw ProvisioningError("\(path): cannot write: \(error.message)")
        }
    }

    /// A new self-signed root CA: its certificate at `certificate` (0644), its key at
    /// `privateKey` (0600, written first so a certificate never exists without its key).
    package static func writeCertificateAuthority(commonName: String, certificate: String, privateKey: String, now: Date) throws(ProvisioningError) {
        let ca: GeneratedCertificate
        do {
            ca = try CertificateAuthority.generateRoot(commonName: commonName, now: now)
        } catch {
            throw ProvisioningError("\(certificate): cannot create the CA: \(error)")
        }
        try writeFile(ca.privateKeyPEM.unsafeCopiedBytes, to: privateKey, mode: 0o600)
        try writeFile(Array(ca.certificatePEM.utf8), to: certificate, mode: 0o644)
    }

    /// A leaf certificate (server and client use) signed by the CA in `caCertificate` and
    /// `caPrivateKey`: the certificate at `certificate` (0644), its new key at `privateKey` (0600).
    package static func writeCertificate(commonName: String, organizationalUnit: String?, dnsNames: [String], ipAddresses: [String],
                                 uris: [String], certificate: String, privateKey: String,
                                 caCertificate: String, caPrivateKey: String, now: Date) throws(ProvisioningError) {
        let leaf: GeneratedCertificate
        do {
            let caPEM = try String(contentsOfFile: caCertificate, encoding: .utf8)
            let caKey = SecureBytes(Array(try Data(contentsOf: URL(fileURLWithPath: caPrivateKey))))
            leaf = try CertificateAuthority.issue(
                commonName: commonName, organizationalUnit: organizationalUnit, dnsNames: dnsNames, ipAddresses: ipAddresses,
                uris: uris, issuerCertificatePEM: caPEM, issuerPrivateKeyPEM: caKey, now: now)
        } catch {
            throw ProvisioningError("\(certificate): cannot create the certificate: \(error)")
        }
        try writeFile(leaf.privateKeyPEM.unsafeCopiedBytes, to: privateKey, mode: 0o600)
        try writeFile(Array(leaf.certificatePEM.utf8), to: certificate, mode: 0o644)
    }
}
