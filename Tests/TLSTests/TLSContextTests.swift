import Cryptography
import Foundation
import Testing
import TLS

/// Startup errors: each must be one line that names the file and the problem.
@Suite struct TLSContextTests {
    /// Files of a valid node identity in a fresh directory.
    private struct Files {
        let directory: TemporaryDirectory
        let pki: TestPKI
        let certificate: String
        let key: String
        let ca: String

        init() throws {
            directory = try TemporaryDirectory()
            pki = try TestPKI()
            certificate = try directory.write("node.pem", pki.server.certificatePEM, mode: 0o644)
            key = try directory.write("node.key", pki.server.privateKeyPEM.unsafeCopiedBytes, mode: 0o600)
            ca = try directory.write("ca.pem", pki.root.certificatePEM, mode: 0o644)
        }
    }

    private func configurationError(_ body: () throws(TLSError) -> TLSContext) -> TLSError? {
        do {
            _ = try body()
            return nil
        } catch {
            #expect(error.kind == .configuration)
            #expect(!error.description.contains("\n"), "one line: \(error)")
            return error
        }
    }

    @Test func filesThatAreRightBuildWorkingContexts() throws {
        let files = try Files()
        defer { files.directory.remove() }
        let clientFiles = try Files()
        defer { clientFiles.directory.remove() }
        let server = try TLSContext.server(
            certificateChainFile: files.certificate, privateKeyFile: files.key,
            clientCAFile: files.ca, requireClientCertificate: true
        )
        #expect(server.role == .server)
        // The client's identity comes from the same CA as the server's.
        let clientCertificate = try files.directory.write("client.pem", files.pki.client.certificatePEM, mode: 0o644)
        let clientKey = try files.directory.write("client.key", files.pki.client.privateKeyPEM.unsafeCopiedBytes, mode: 0o400)
        let client = try TLSContext.client(trustedCAFile: files.ca, certificateChainFile: clientCertificate, privateKeyFile: clientKey)
        #expect(client.role == .client)
        var pair = try ConnectionPair(client: client, server: server, expectedHostName: "localhost")
        try pair.client.writePlaintext(Array("over files".utf8))
        pair.pump()
        let result = pair.snapshot
        #expect(result.serverReceived == Array("over files".utf8))
        #expect(result.serverPeer?.commonName == "node-2")
    }

    @Test func missingCertificateFile() throws {
        let files = try Files()
        defer { files.directory.remove() }
        let missing = files.directory.path + "/absent.pem"
        let error = configurationError { () throws(TLSError) in
            try TLSContext.server(certificateChainFile: missing, privateKeyFile: files.key)
        }
        #expect(error?.message == "cannot read certificate file \(missing): No such file or directory")
    }

    @Test func missingKeyAndCAFiles() throws {
        let files = try Files()
        defer { files.directory.remove() }
        let missing = files.directory.path + "/absent"
        let key = configurationError { () throws(TLSError) in
            try TLSContext.server(certificateChainFile: files.certificate, privateKeyFile: missing)
        }
        #expect(key?.message == "cannot read private key file \(missing): No such file or directory")
        let ca = configurationError { () throws(TLSError) in
            try TLSContext.client(trustedCAFile: missing)
        }
        #expect(ca?.message == "cannot read CA certificate file \(missing): No such file or directory")
        let directory = configurationError { () throws(TLSError) in
            try TLSContext.client(trustedCAFile: files.directory.path)
        }
        #expect(directory?.message == "cannot read CA certificate file \(files.directory.path): not a regular file")
    }

    @Test func fileWithoutPEM() throws {
        let files = try Files()
        defer { files.directory.remove() }
        let garbage = try files.directory.write("garbage.pem", "this is not a certificate\n", mode: 0o644)
        let certificate = configurationError { () throws(TLSError) in
            try TLSContext.server(certificateChainFile: garbage, privateKeyFile: files.key)
        }
        #expect(certificate?.message.hasPrefix("certificate file \(garbage) holds no PEM certificate") == true, "\(String(describing: certificate))")
        let empty = try files.directory.write("empty.pem", "", mode: 0o644)
        let emptyCA = configurationError { () throws(TLSError) in try TLSContext.client(trustedCAFile: empty) }
        #expect(emptyCA?.message.hasPrefix("CA certificate file \(empty) holds no PEM CA certificate") == true, "\(String(describing: emptyCA))")
        let garbageKey = try files.directory.write("garbage.key", "nope\n", mode: 0o600)
        let key = configurationError { () throws(TLSError) in
            try TLSContext.server(certificateChainFile: files.certificate, privateKeyFile: garbageKey)
        }
        #expect(key?.message.hasPrefix("private key file \(garbageKey) holds no PEM private key") == true, "\(String(describing: key))")
        let brokenKey = try files.directory.write("broken.key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", mode: 0o600)
        let broken = configurationError { () throws(TLSError) in
            try TLSContext.server(certificateChainFile: files.certificate, privateKeyFile: brokenKey)
        }
        #expect(broken?.message.hasPrefix("private key file \(brokenKey) holds an unreadable private key (OpenSSL: ") == true, "\(String(describing: broken))")
    }

    @Test func damagedPEM() throws {
        let files = try Files()
        defer { files.directory.remove() }
        var lines = files.pki.server.certificatePEM.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines[3] = String(lines[3].reversed())
        let damaged = try files.directory.write("damaged.pem", lines.joined(separator: "\n"), mode: 0o644)
        let error = configurationError { () throws(TLSError) in
            try TLSContext.server(certificateChainFile: damaged, privateKeyFile: files.key)
        }
        #expect(error?.message.hasPrefix("certificate file \(damaged) holds a damaged PEM certificate") == true, "\(String(describing: error))")
        #expect(error?.message.contains("OpenSSL: error:") == true, "the queue is drained into the error")
    }

    @Test func keyThatDoesNotMatchTheCertificate() throws {
        let files = try Files()
        defer { files.directory.remove() }
        let otherKey = try files.directory.write("other.key", files.pki.client.privateKeyPEM.unsafeCopiedBytes, mode: 0o600)
        let error = configurationError { () throws(TLSError) in
            try TLSContext.server(certificateChainFile: files.certificate, privateKeyFile: otherKey)
        }
        #expect(error?.message.hasPrefix("private key \(otherKey) does not match certificate \(files.certificate)") == true, "\(String(describing: error))")
        let inMemory = configurationError { () throws(TLSError) in
            try TLSContext.server(certificateChainPEM: files.pki.server.certificatePEM, privateKeyPEM: files.pki.client.privateKeyPEM)
        }
        #expect(inMemory?.message.hasPrefix("private key does not match certificate") == true)
    }

    @Test(arguments: [0o644, 0o640, 0o604, 0o660])
    func keyFileReadableByOthers(mode: Int) throws {
        let files = try Files()
        defer { files.directory.remove() }
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: files.key)
        let error = configurationError { () throws(TLSError) in
            try TLSContext.server(certificateChainFile: files.certificate, privateKeyFile: files.key)
        }
        let octal = "0" + String(mode, radix: 8)
        #expect(error?.message == "private key file \(files.key) is readable by group or others (mode \(octal)); it must be 0600")
    }

    @Test func clientKeyFileIsCheckedToo() throws {
        let files = try Files()
        defer { files.directory.remove() }
        let key = try files.directory.write("client.key", files.pki.client.privateKeyPEM.unsafeCopiedBytes, mode: 0o620)
        let certificate = try files.directory.write("client.pem", files.pki.client.certificatePEM, mode: 0o644)
        let error = configurationError { () throws(TLSError) in
            try TLSContext.client(trustedCAFile: files.ca, certificateChainFile: certificate, privateKeyFile: key)
        }
        #expect(error?.message == "private key file \(key) is accessible by group or others (mode 0620); it must be 0600")
    }

    @Test func expiredAndNotYetValidCertificates() throws {
        let files = try Files()
        defer { files.directory.remove() }
        // Issued on 2020-01-01 for 30 days, by a root of the same date.
        let issued = Date(timeIntervalSince1970: 1_577_836_800)
        let root = try CertificateAuthority.generateRoot(commonName: "Old Root", now: issued)
        let old = try CertificateAuthority.issue(
            commonName: "old", organizationalUnit: nil, dnsNames: ["localhost"], ipAddresses: [], uris: [], validityDays: 30,
            issuerCertificatePEM: root.certificatePEM, issuerPrivateKeyPEM: root.privateKeyPEM, now: issued
        )
        let certificate = try files.directory.write("old.pem", old.certificatePEM, mode: 0o644)
        let key = try files.directory.write("old.key", old.privateKeyPEM.unsafeCopiedBytes, mode: 0o600)
        let expired = configurationError { () throws(TLSError) in
            try TLSContext.server(certificateChainFile: certificate, privateKeyFile: key)
        }
        #expect(expired?.message == "certificate \(certificate) expired on 2020-01-31 00:00:00 UTC")
        // The same files are fine at a time inside the validity period.
        _ = try TLSContext.server(certificateChainFile: certificate, privateKeyFile: key, now: issued.addingTimeInterval(86_400))
        let early = configurationError { () throws(TLSError) in
            try TLSContext.server(certificateChainFile: certificate, privateKeyFile: key, now: issued.addingTimeInterval(-3_600))
        }
        #expect(early?.message == "certificate \(certificate) is not valid before 2019-12-31 23:55:00 UTC")
    }

    @Test func contradictoryParameters() throws {
        let pki = try TestPKI()
        let versions = configurationError { () throws(TLSError) in
            try TLSContext.client(trustedCAPEM: pki.root.certificatePEM, minimumVersion: .tls13, maximumVersion: .tls12)
        }
        #expect(versions?.message == "minimum version TLS 1.3 is above maximum version TLS 1.2")
        let noCA = configurationError { () throws(TLSError) in
            try TLSContext.server(
                certificateChainPEM: pki.server.certificatePEM, privateKeyPEM: pki.server.privateKeyPEM, requireClientCertificate: true
            )
        }
        #expect(noCA?.message == "requiring client certificates needs a client CA file")
        let half = configurationError { () throws(TLSError) in
            try TLSContext.client(trustedCAPEM: pki.root.certificatePEM, certificateChainPEM: pki.client.certificatePEM)
        }
        #expect(half?.message == "a client certificate and private key must be given together")
    }

    @Test func encryptedKeyIsRefusedWithoutPrompting() throws {
        // PKCS#8 encrypted key header: the loader must fail rather than ask for a password.
        let encrypted = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIGbMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAhVn2yW0Jp1RgICCAAw\n-----END ENCRYPTED PRIVATE KEY-----\n"
        let pki = try TestPKI()
        let error = configurationError { () throws(TLSError) in
            try TLSContext.server(certificateChainPEM: pki.server.certificatePEM, privateKeyPEM: SecureBytes(Array(encrypted.utf8)))
        }
        #expect(error?.message.hasPrefix("private key PEM holds an encrypted private key; store it unencrypted with mode 0600") == true, "\(String(describing: error))")
    }
}
