import Cryptography
import Foundation
import Testing
import TLS

@Suite struct CertificateAuthorityTests {
    static let issued = Date(timeIntervalSince1970: 1_767_225_600)  // 2026-01-01T00:00:00Z

    @Test func rootHasTheRequestedSubjectValidityAndARandomSerial() throws {
        let first = try CertificateAuthority.generateRoot(commonName: "Strongroom Root", validityDays: 10, now: Self.issued)
        let second = try CertificateAuthority.generateRoot(commonName: "Strongroom Root", validityDays: 10, now: Self.issued)
        let certificate = try PeerCertificate(pem: first.certificatePEM)
        #expect(certificate.commonName == "Strongroom Root")
        #expect(certificate.organizationalUnit == nil)
        #expect(certificate.notBefore == Self.issued.addingTimeInterval(-300))
        #expect(certificate.notAfter == Self.issued.addingTimeInterval(10 * 86_400))
        // 159 random bits: at most 20 octets, top bit clear (a positive DER INTEGER).
        #expect(certificate.serialNumber.count >= 16 && certificate.serialNumber.count <= 20)
        #expect(certificate.serialNumber.count < 20 || certificate.serialNumber[0] < 0x80)
        #expect(certificate.serialNumber != (try PeerCertificate(pem: second.certificatePEM)).serialNumber)
        #expect(first.privateKeyPEM != second.privateKeyPEM)
        let key = String(decoding: first.privateKeyPEM.unsafeCopiedBytes, as: UTF8.self)
        #expect(key.hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        #expect(first.certificatePEM.hasPrefix("-----BEGIN CERTIFICATE-----\n"))
        #expect(!first.privateKeyPEM.description.contains("BEGIN"), "key material never reaches a description")
    }

    @Test func issuedCertificateCarriesEveryName() throws {
        let root = try CertificateAuthority.generateRoot(commonName: "Root", now: Self.issued)
        let leaf = try CertificateAuthority.issue(
            commonName: "node-3", organizationalUnit: "storage",
            dnsNames: ["node-3.cluster.local", "localhost"], ipAddresses: ["10.1.2.3", "::1", "fd00::17"],
            uris: ["spiffe://strongroom/node/3"],
            issuerCertificatePEM: root.certificatePEM, issuerPrivateKeyPEM: root.privateKeyPEM, now: Self.issued
        )
        let certificate = try PeerCertificate(pem: leaf.certificatePEM)
        #expect(certificate.commonName == "node-3")
        #expect(certificate.organizationalUnit == "storage")
        #expect(certificate.dnsNames == ["node-3.cluster.local", "localhost"])
        #expect(certificate.ipAddresses == ["10.1.2.3", "::1", "fd00::17"])
        #expect(certificate.uris == ["spiffe://strongroom/node/3"])
        #expect(certificate.notAfter == Self.issued.addingTimeInterval(825 * 86_400))
        #expect(certificate.sha256Fingerprint.count == 32)
    }

    @Test func leafCannotIssue() throws {
        let pki = try TestPKI()
        let error = #expect(throws: TLSError.self) {
            _ = try CertificateAuthority.issue(
                commonName: "x", organizationalUnit: nil, dnsNames: ["x"], ipAddresses: [], uris: [],
                issuerCertificatePEM: pki.server.certificatePEM, issuerPrivateKeyPEM: pki.server.privateKeyPEM, now: Self.issued
            )
        }
        #expect(error?.kind == .certificateGeneration)
        #expect(error?.message.hasPrefix("issuer certificate is not a CA certificate") == true)
    }

    @Test func issuerKeyMustMatch() throws {
        let pki = try TestPKI()
        let other = try TestPKI(name: "Other")
        let error = #expect(throws: TLSError.self) {
            _ = try CertificateAuthority.issue(
                commonName: "x", organizationalUnit: nil, dnsNames: ["x"], ipAddresses: [], uris: [],
                issuerCertificatePEM: pki.root.certificatePEM, issuerPrivateKeyPEM: other.root.privateKeyPEM, now: Self.issued
            )
        }
        #expect(error?.message.hasPrefix("issuer private key does not match issuer certificate") == true)
    }

    static let badInputs: [(dns: [String], ips: [String], uris: [String], common: String, days: Int, expected: String)] = [
        ([], ["300.1.1.1"], [], "x", 10, "\"300.1.1.1\" is not an IPv4 or IPv6 address"),
        ([], ["localhost"], [], "x", 10, "\"localhost\" is not an IPv4 or IPv6 address"),
        (["a b"], [], [], "x", 10, "DNS name \"a b\" is not printable ASCII without spaces"),
        (["bücher.example"], [], [], "x", 10, "DNS name \"bücher.example\" is not printable ASCII without spaces"),
        ([], [], [""], "x", 10, "URI \"\" is not printable ASCII without spaces"),
        (["x"], [], [], "", 10, "a certificate needs a non-empty common name"),
        (["x"], [], [], String(repeating: "c", count: 65), 10, "cannot use CN"),
        (["x"], [], [], "x", 0, "validity of 0 days is outside 1...36500"),
    ]

    @Test(arguments: badInputs)
    func badInputsAreRefused(input: (dns: [String], ips: [String], uris: [String], common: String, days: Int, expected: String)) throws {
        let root = try CertificateAuthority.generateRoot(commonName: "Root", now: Self.issued)
        let error = #expect(throws: TLSError.self) {
            _ = try CertificateAuthority.issue(
                commonName: input.common, organizationalUnit: nil, dnsNames: input.dns, ipAddresses: input.ips, uris: input.uris,
                validityDays: input.days,
                issuerCertificatePEM: root.certificatePEM, issuerPrivateKeyPEM: root.privateKeyPEM, now: Self.issued
            )
        }
        #expect(error?.kind == .certificateGeneration)
        #expect(error?.message.hasPrefix(input.expected) == true, "\(String(describing: error))")
    }

    // MARK: - Python

    static let pythonAvailable: Bool = (try? runPython(["-c", "import ssl"]).status) == 0

    /// Python's `ssl` (what boto3 and the AWS CLI use) loads the files and completes a mutual
    /// TLS handshake in memory with strict X.509 checks, for the host name and both IPs; a wrong
    /// name must fail, so the check is really on.
    @Test(.enabled(if: pythonAvailable, "python3 with ssl is not installed"))
    func pythonStrictVerificationAcceptsGeneratedCertificates() throws {
        let pki = try TestPKI()
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try directory.write("ca.pem", pki.root.certificatePEM)
        try directory.write("server.pem", pki.server.certificatePEM)
        try directory.write("server.key", pki.server.privateKeyPEM.unsafeCopiedBytes)
        try directory.write("client.pem", pki.client.certificatePEM)
        try directory.write("client.key", pki.client.privateKeyPEM.unsafeCopiedBytes)
        let result = try Self.runPython(["-c", Self.pythonScript, directory.path])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("strict=True"), "\(result.output)")
        #expect(result.output.hasSuffix("OK\n"), "\(result.output)")
    }

    static let pythonScript = #"""
    import ssl, sys
    d = sys.argv[1]

    def contexts():
        server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server.load_cert_chain(d + "/server.pem", d + "/server.key")
        server.load_verify_locations(cafile=d + "/ca.pem")
        server.verify_mode = ssl.CERT_REQUIRED
        client = ssl.create_default_context(cafile=d + "/ca.pem")
        client.load_cert_chain(d + "/client.pem", d + "/client.key")
        strict = hasattr(ssl, "VERIFY_X509_STRICT")
        if strict:
            server.verify_flags |= ssl.VERIFY_X509_STRICT
            client.verify_flags |= ssl.VERIFY_X509_STRICT
        return server, client, strict

    def handshake(name):
        server, client, strict = contexts()
        c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
        c = client.wrap_bio(c_in, c_out, server_hostname=name)
        s = server.wrap_bio(s_in, s_out, server_side=True)
        done = [False, False]
        for _ in range(20):
            for i, (conn, out, peer_in) in enumerate(((c, c_out, s_in), (s, s_out, c_in))):
                if not done[i]:
                    try:
                        conn.do_handshake()
                        done[i] = True
                    except ssl.SSLWantReadError:
                        pass
                peer_in.write(out.read())
            if all(done):
                break
        assert all(done), "handshake did not finish"
        c.write(b"ping")
        s_in.write(c_out.read())
        assert s.read(4) == b"ping"
        subject = dict(x[0] for x in s.getpeercert()["subject"])
        assert subject["commonName"] == "node-2", subject
        return strict

    for name in ("localhost", "127.0.0.1", "::1"):
        strict = handshake(name)
    print("strict=%s" % strict)
    try:
        handshake("example.com")
        print("wrong name accepted")
        sys.exit(1)
    except ssl.SSLCertVerificationError as e:
        assert "mismatch" in str(e), e
    print("OK")
    """#

    /// Runs python3 with `arguments`; returns its exit status and combined output.
    static func runPython(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }
}
