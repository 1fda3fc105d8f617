public import Foundation
internal import COpenSSL
internal import COpenSSLShims
import Cryptography
import Platform

/// What this module reads out of a verified X.509 certificate: enough to identify a peer node or
/// client in mutual TLS, and to warn before a certificate expires.
public struct PeerCertificate: Sendable, Hashable {
    /// The subject's first commonName (CN), if any.
    public var commonName: String?
    /// The subject's first organizationalUnitName (OU), if any.
    public var organizationalUnit: String?
    /// subjectAltName DNS entries, in certificate order.
    public var dnsNames: [String]
    /// subjectAltName IP entries as text ("127.0.0.1", "::1"), in certificate order.
    public var ipAddresses: [String]
    /// subjectAltName URI entries, in certificate order.
    public var uris: [String]
    /// Start of the validity period.
    public var notBefore: Date
    /// End of the validity period.
    public var notAfter: Date
    /// SHA-256 of the DER encoding, for pinning and for logs.
    public var sha256Fingerprint: [UInt8]
    /// The serial number's big-endian magnitude.
    public var serialNumber: [UInt8]

    /// Reads the first certificate of `pem` (for example the node's own certificate, to log its
    /// identity and expiry). No verification is done.
    ///
    /// - Throws: `.configuration` when `pem` holds no readable certificate.
    public init(pem: String) throws(TLSError) {
        let list = try PEMLoader.certificates(Array(pem.utf8), PEMOrigin(noun: "certificate"))
        self.init(x509: list.pointers[0])
    }

    /// Reads the fields of `x509` (which the caller keeps alive).
    init(x509: OpaquePointer) {
        let subject = X509_get_subject_name(x509)
        commonName = subject.flatMap { Self.firstEntry(of: $0, nid: NID_commonName) }
        organizationalUnit = subject.flatMap { Self.firstEntry(of: $0, nid: NID_organizationalUnitName) }
        var dns: [String] = []
        var ips: [String] = []
        var uris: [String] = []
        if let raw = X509_get_ext_d2i(x509, NID_subject_alt_name, nil, nil) {
            let names = OpaquePointer(raw)
            defer { GENERAL_NAMES_free(names) }
            for index in 0..<COpenSSLShims_sk_GENERAL_NAME_num(names) {
                guard let name = COpenSSLShims_sk_GENERAL_NAME_value(names, index) else { continue }
                var type: Int32 = 0
                guard let value = GENERAL_NAME_get0_value(name, &type) else { continue }
                let bytes = Self.bytes(of: value.assumingMemoryBound(to: ASN1_STRING.self))
                switch type {
                case GEN_DNS: dns.append(String(decoding: bytes, as: UTF8.self))
                case GEN_URI: uris.append(String(decoding: bytes, as: UTF8.self))
                case GEN_IPADD: if let text = Self.ipText(bytes) { ips.append(text) }
                default: break
                }
            }
        }
        dnsNames = dns
        ipAddresses = ips
        self.uris = uris
        notBefore = Self.date(X509_get0_notBefore(x509))
        notAfter = Self.date(X509_get0_notAfter(x509))
        sha256Fingerprint = Cryptography.SHA256.hash(Self.der(x509))
        serialNumber = Self.serial(x509)
        // Reading optional fields leaves "not found" entries in the queue on some paths.
        OpenSSLErrorQueue.clear()
    }

    private static func firstEntry(of name: OpaquePointer, nid: Int32) -> String? {
        let index = X509_NAME_get_index_by_NID(name, nid, -1)
        guard index >= 0, let entry = X509_NAME_get_entry(name, index),
              let data = X509_NAME_ENTRY_get_data(entry) else { return nil }
        var utf8: UnsafeMutablePointer<UInt8>?
        let length = ASN1_STRING_to_UTF8(&utf8, data)
        guard length >= 0, let utf8 else { return nil }
        defer { COpenSSLShims_OPENSSL_free(utf8) }
        return String(decoding: UnsafeBufferPointer(start: utf8, count: Int(length)), as: UTF8.self)
    }

    private static func bytes(of string: UnsafePointer<ASN1_STRING>) -> [UInt8] {
        let length = Int(ASN1_STRING_length(string))
        guard length > 0, let data = ASN1_STRING_get0_data(string) else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: length))
    }

    /// Text form of a 4- or 16-byte iPAddress entry; nil for anything else (e.g. a name
    /// constraint's address/mask pair, which cannot appear in an end-entity SAN).
    static func ipText(_ bytes: [UInt8]) -> String? {
        SocketAddress.text(ofRawAddress: bytes)
    }

    /// An ASN1_TIME as a Date (whole seconds, UTC).
    static func date(_ time: UnsafePointer<ASN1_TIME>?) -> Date {
        // OpenSSL computes the difference from the epoch itself: no C library calendar needed.
        var days: Int32 = 0
        var seconds: Int32 = 0
        guard let time, let epoch = ASN1_TIME_set(nil, 0) else { return Date(timeIntervalSince1970: 0) }
        defer { ASN1_TIME_free(epoch) }
        guard ASN1_TIME_diff(&days, &seconds, epoch, time) == 1 else { return Date(timeIntervalSince1970: 0) }
        return Date(timeIntervalSince1970: TimeInterval(Int64(days) * 86_400 + Int64(seconds)))
    }

    private static func serial(_ x509: OpaquePointer) -> [UInt8] {
        guard let integer = X509_get0_serialNumber(x509), let number = ASN1_INTEGER_to_BN(integer, nil) else { return [] }
        defer { BN_free(number) }
        var out = [UInt8](repeating: 0, count: (Int(BN_num_bits(number)) + 7) / 8)
        _ = BN_bn2bin(number, &out)
        return out
    }

    private static func der(_ x509: OpaquePointer) -> [UInt8] {
        let length = i2d_X509(x509, nil)
        guard length > 0 else { return [] }
        var out = [UInt8](repeating: 0, count: Int(length))
        out.withUnsafeMutableBufferPointer { buffer in
            var cursor = buffer.baseAddress
            _ = i2d_X509(x509, &cursor)
        }
        return out
    }
}
