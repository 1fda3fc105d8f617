public import Foundation
internal import COpenSSL
internal import COpenSSLShims
public import Cryptography

/// A certificate and its private key, both PEM (the key as unencrypted PKCS#8).
public struct GeneratedCertificate: Sendable {
    /// "-----BEGIN CERTIFICATE-----…".
    public var certificatePEM: String
    /// "-----BEGIN PRIVATE KEY-----…", in zeroised storage; write it to a 0600 file.
    public var privateKeyPEM: SecureBytes

    /// Pairs a certificate with its key (for example both read back from disk).
    public init(certificatePEM: String, privateKeyPEM: SecureBytes) {
        self.certificatePEM = certificatePEM
        self.privateKeyPEM = privateKeyPEM
    }
}

/// A private certificate authority for a cluster: a self-signed root, and node or client
/// certificates issued by it. ECDSA P-256 with SHA-256, built with libcrypto's API.
///
/// The certificates follow RFC 5280 closely enough for OpenSSL's and Python's strict
/// verification (`VERIFY_X509_STRICT`, the default from Python 3.13, which boto3 and the AWS CLI
/// use): X.509 v3, a positive 159-bit random serial, subject and authority key identifiers, a
/// critical basicConstraints and a critical keyUsage.
///
/// Time is an input: the validity period starts five minutes before `now` (to tolerate clock
/// skew between nodes) and lasts `validityDays` after it.
public enum CertificateAuthority {
    /// Allowed clock skew between the issuing node and the verifying peer.
    static let backdatingSeconds = 300

    /// A self-signed root CA certificate and its key.
    ///
    /// - Throws: `.certificateGeneration` for an unusable name or a libcrypto failure.
    public static func generateRoot(commonName: String, validityDays: Int = 3650, now: Date) throws(TLSError) -> GeneratedCertificate {
        let key = try PrivateKeyHandle.generateP256()
        let certificate = try X509Handle.make()
        try fillCommonFields(
            certificate.pointer, key: key.pointer, commonName: commonName, organizationalUnit: nil,
            validityDays: validityDays, now: now
        )
        guard let subject = X509_get_subject_name(certificate.pointer),
              X509_set_issuer_name(certificate.pointer, subject) == 1 else {
            throw .drainingOpenSSL(.certificateGeneration, "cannot set the issuer name")
        }
        // The subject key identifier first: the authority key identifier of a self-signed
        // certificate is copied from it.
        try addExtensions(
            to: certificate.pointer,
            issuer: certificate.pointer,
            [
                (NID_basic_constraints, "critical,CA:TRUE"),
                (NID_key_usage, "critical,keyCertSign,cRLSign"),
                (NID_subject_key_identifier, "hash"),
                (NID_authority_key_identifier, "keyid:always"),
            ]
        )
        return try sign(certificate.pointer, with: key.pointer, keyOfCertificate: key.pointer)
    }

    /// An end-entity certificate for a node or client, usable for both TLS server and client
    /// authentication, signed by the given CA.
    ///
    /// - Parameters:
    ///   - commonName: the subject CN.
    ///   - organizationalUnit: the subject OU, if any (for example a node's role).
    ///   - dnsNames, ipAddresses, uris: subjectAltName entries. IPs are text, IPv4 or IPv6 ("::1").
    ///   - validityDays: 825 by default, the longest that Apple platforms accept.
    ///   - issuerCertificatePEM, issuerPrivateKeyPEM: the CA (the first certificate of the PEM).
    ///   - now: the issuing time.
    /// - Throws: `.certificateGeneration` for a bad name or address, an issuer that is not a CA or
    ///   whose key does not match, or a libcrypto failure.
    public static func issue(
        commonName: String,
        organizationalUnit: String?,
        dnsNames: [String],
        ipAddresses: [String],
        uris: [String],
        validityDays: Int = 825,
        issuerCertificatePEM: String,
        issuerPrivateKeyPEM: SecureBytes,
        now: Date
    ) throws(TLSError) -> GeneratedCertificate {
        let issuerOrigin = PEMOrigin(noun: "issuer certificate")
        let issuerChain = try PEMLoader.certificates(Array(issuerCertificatePEM.utf8), issuerOrigin)
        let issuer = issuerChain.pointers[0]
        let issuerKey = try PEMLoader.privateKey(issuerPrivateKeyPEM, PEMOrigin(noun: "issuer private key"))
        OpenSSLErrorQueue.clear()
        guard X509_check_private_key(issuer, issuerKey.pointer) == 1 else {
            throw .drainingOpenSSL(.certificateGeneration, "issuer private key does not match issuer certificate")
        }
        guard X509_check_ca(issuer) >= 1 else {
            throw .drainingOpenSSL(.certificateGeneration, "issuer certificate is not a CA certificate")
        }

        let key = try PrivateKeyHandle.generateP256()
        let certificate = try X509Handle.make()
        try fillCommonFields(
            certificate.pointer, key: key.pointer, commonName: commonName, organizationalUnit: organizationalUnit,
            validityDays: validityDays, now: now
        )
        guard let issuerName = X509_get_subject_name(issuer), X509_set_issuer_name(certificate.pointer, issuerName) == 1 else {
            throw .drainingOpenSSL(.certificateGeneration, "cannot set the issuer name")
        }
        try addExtensions(
            to: certificate.pointer,
            issuer: issuer,
            [
                (NID_basic_constraints, "critical,CA:FALSE"),
                (NID_key_usage, "critical,digitalSignature"),
                (NID_ext_key_usage, "serverAuth,clientAuth"),
                (NID_subject_key_identifier, "hash"),
                (NID_authority_key_identifier, "keyid:always"),
            ]
        )
        try addSubjectAltNames(to: certificate.pointer, dnsNames: dnsNames, ipAddresses: ipAddresses, uris: uris)
        return try sign(certificate.pointer, with: issuerKey.pointer, keyOfCertificate: key.pointer)
    }

    // MARK: - Parts

    /// Version, serial, subject, validity and public key.
    private static func fillCommonFields(
        _ certificate: OpaquePointer,
        key: OpaquePointer,
        commonName: String,
        organizationalUnit: String?,
        validityDays: Int,
        now: Date
    ) throws(TLSError) {
        guard validityDays > 0 && validityDays <= 36500 else {
            throw TLSError(kind: .certificateGeneration, message: "validity of \(validityDays) days is outside 1...36500")
        }
        guard !commonName.isEmpty else {
            throw TLSError(kind: .certificateGeneration, message: "a certificate needs a non-empty common name")
        }
        OpenSSLErrorQueue.clear()
        guard X509_set_version(certificate, Int(X509_VERSION_3)) == 1 else {
            throw .drainingOpenSSL(.certificateGeneration, "cannot set the certificate version")
        }
        try setRandomSerial(certificate)

        guard let name = X509_NAME_new() else { throw .drainingOpenSSL(.certificateGeneration, "X509_NAME_new failed") }
        defer { X509_NAME_free(name) }
        var entries = [("CN", commonName)]
        if let organizationalUnit { entries.append(("OU", organizationalUnit)) }
        for (field, value) in entries {
            let bytes = Array(value.utf8)
            guard X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, bytes, Int32(bytes.count), -1, 0) == 1 else {
                throw .drainingOpenSSL(.certificateGeneration, "cannot use \(field) \"\(value)\" in a certificate subject")
            }
        }
        guard X509_set_subject_name(certificate, name) == 1 else {
            throw .drainingOpenSSL(.certificateGeneration, "cannot set the subject name")
        }

        let seconds = time_t(now.timeIntervalSince1970.rounded(.down))
        guard ASN1_TIME_adj(X509_getm_notBefore(certificate), seconds, 0, -backdatingSeconds) != nil,
              ASN1_TIME_adj(X509_getm_notAfter(certificate), seconds, Int32(validityDays), 0) != nil else {
            throw .drainingOpenSSL(.certificateGeneration, "cannot set the validity period")
        }
        guard X509_set_pubkey(certificate, key) == 1 else {
            throw .drainingOpenSSL(.certificateGeneration, "cannot set the public key")
        }
    }

    /// A positive random serial of 159 bits (20 octets with the top bit clear: RFC 5280's limit
    /// of 20 octets, and at least 64 bits of entropy as CA/Browser Forum rules ask).
    private static func setRandomSerial(_ certificate: OpaquePointer) throws(TLSError) {
        var bytes: [UInt8]
        do {
            repeat {
                bytes = try Random.bytes(20)
                bytes[0] &= 0x7F
            } while bytes.allSatisfy { $0 == 0 }
        } catch {
            throw TLSError(kind: .certificateGeneration, message: "cannot draw a random serial: \(error)")
        }
        guard let number = BN_bin2bn(bytes, Int32(bytes.count), nil) else {
            throw .drainingOpenSSL(.certificateGeneration, "BN_bin2bn failed")
        }
        defer { BN_free(number) }
        guard BN_to_ASN1_INTEGER(number, X509_get_serialNumber(certificate)) != nil else {
            throw .drainingOpenSSL(.certificateGeneration, "cannot set the serial number")
        }
    }

    /// Extensions written in OpenSSL's configuration syntax, added in the given order.
    private static func addExtensions(
        to certificate: OpaquePointer,
        issuer: OpaquePointer,
        _ extensions: [(nid: Int32, value: String)]
    ) throws(TLSError) {
        var context = X509V3_CTX()
        X509V3_set_ctx(&context, issuer, certificate, nil, nil, 0)
        for (nid, value) in extensions {
            OpenSSLErrorQueue.clear()
            guard let ext = X509V3_EXT_conf_nid(nil, &context, nid, value) else {
                throw .drainingOpenSSL(.certificateGeneration, "cannot build extension \(String(cString: OBJ_nid2sn(nid))) = \(value)")
            }
            defer { X509_EXTENSION_free(ext) }
            guard X509_add_ext(certificate, ext, -1) == 1 else {
                throw .drainingOpenSSL(.certificateGeneration, "cannot add extension \(String(cString: OBJ_nid2sn(nid)))")
            }
        }
    }

    /// subjectAltName, built entry by entry rather than from configuration text, so that a name
    /// containing a comma cannot inject another entry.
    private static func addSubjectAltNames(
        to certificate: OpaquePointer, dnsNames: [String], ipAddresses: [String], uris: [String]
    ) throws(TLSError) {
        guard !(dnsNames.isEmpty && ipAddresses.isEmpty && uris.isEmpty) else { return }
        guard let names = COpenSSLShims_sk_GENERAL_NAME_new_null() else {
            throw .drainingOpenSSL(.certificateGeneration, "cannot allocate subjectAltName")
        }
        defer { GENERAL_NAMES_free(names) }

        func push(_ type: Int32, _ value: UnsafeMutableRawPointer, freeing free: (UnsafeMutableRawPointer) -> Void) throws(TLSError) {
            guard let name = GENERAL_NAME_new() else {
                free(value)
                throw .drainingOpenSSL(.certificateGeneration, "GENERAL_NAME_new failed")
            }
            GENERAL_NAME_set0_value(name, type, value)
            guard COpenSSLShims_sk_GENERAL_NAME_push(names, name) > 0 else {
                GENERAL_NAME_free(name)
                throw .drainingOpenSSL(.certificateGeneration, "cannot add a subjectAltName entry")
            }
        }
        func ia5(_ text: String, _ what: String) throws(TLSError) -> UnsafeMutablePointer<ASN1_STRING> {
            // IA5String is ASCII; spaces and controls are not valid in DNS names or URIs.
            guard !text.isEmpty, text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw TLSError(kind: .certificateGeneration, message: "\(what) \"\(text)\" is not printable ASCII without spaces")
            }
            let bytes = Array(text.utf8)
            guard let string = ASN1_IA5STRING_new() else { throw .drainingOpenSSL(.certificateGeneration, "ASN1_IA5STRING_new failed") }
            guard ASN1_STRING_set(string, bytes, Int32(bytes.count)) == 1 else {
                ASN1_IA5STRING_free(string)
                throw .drainingOpenSSL(.certificateGeneration, "ASN1_STRING_set failed")
            }
            return string
        }
        let freeIA5: (UnsafeMutableRawPointer) -> Void = { ASN1_IA5STRING_free($0.assumingMemoryBound(to: ASN1_STRING.self)) }

        for dns in dnsNames {
            try push(GEN_DNS, UnsafeMutableRawPointer(try ia5(dns, "DNS name")), freeing: freeIA5)
        }
        for ip in ipAddresses {
            OpenSSLErrorQueue.clear()
            guard let octets = a2i_IPADDRESS(ip) else {
                throw .drainingOpenSSL(.certificateGeneration, "\"\(ip)\" is not an IPv4 or IPv6 address")
            }
            try push(GEN_IPADD, UnsafeMutableRawPointer(octets)) { ASN1_OCTET_STRING_free($0.assumingMemoryBound(to: ASN1_STRING.self)) }
        }
        for uri in uris {
            try push(GEN_URI, UnsafeMutableRawPointer(try ia5(uri, "URI")), freeing: freeIA5)
        }
        OpenSSLErrorQueue.clear()
        guard X509_add1_ext_i2d(certificate, NID_subject_alt_name, UnsafeMutableRawPointer(names), 0, UInt(X509V3_ADD_DEFAULT)) == 1 else {
            throw .drainingOpenSSL(.certificateGeneration, "cannot add subjectAltName")
        }
    }

    /// Signs with SHA-256 and returns both PEMs.
    private static func sign(
        _ certificate: OpaquePointer, with signingKey: OpaquePointer, keyOfCertificate key: OpaquePointer
    ) throws(TLSError) -> GeneratedCertificate {
        OpenSSLErrorQueue.clear()
        guard X509_sign(certificate, signingKey, EVP_sha256()) > 0 else {
            throw .drainingOpenSSL(.certificateGeneration, "signing the certificate failed")
        }
        let certificateOut = try BIOHandle.secureMemory()
        guard PEM_write_bio_X509(certificateOut.pointer, certificate) == 1 else {
            throw .drainingOpenSSL(.certificateGeneration, "cannot encode the certificate as PEM")
        }
        let keyOut = try BIOHandle.secureMemory()
        guard PEM_write_bio_PrivateKey(keyOut.pointer, key, nil, nil, 0, nil, nil) == 1 else {
            throw .drainingOpenSSL(.certificateGeneration, "cannot encode the private key as PEM")
        }
        return GeneratedCertificate(
            certificatePEM: String(decoding: certificateOut.readAll(), as: UTF8.self),
            privateKeyPEM: SecureBytes(keyOut.readAll())
        )
    }
}
