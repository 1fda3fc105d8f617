internal import COpenSSL
internal import COpenSSLShims
import Cryptography
import Foundation
import Platform

/// Where a certificate or key came from, so that every error names it the way an operator wrote
/// it: "certificate file /x/node.pem …" for a path, "certificate PEM …" for bytes in memory.
struct PEMOrigin: Sendable {
    /// "certificate", "private key", "CA certificate".
    var noun: String
    /// The file it was read from, or nil for PEM passed in memory.
    var path: String?

    /// "certificate file /x/node.pem" or "certificate PEM": for read and parse failures.
    var asSource: String { path.map { "\(noun) file \($0)" } ?? "\(noun) PEM" }
    /// "certificate /x/node.pem" or "certificate": for facts about the content.
    var asObject: String { path.map { "\(noun) \($0)" } ?? noun }
}

/// Reading configuration files and PEM for `TLSContext`.
enum PEMLoader {
    /// Certificates, keys and CA bundles are small; anything larger is a wrong path.
    static let maximumFileBytes = 1 << 20

    /// The bytes of the file at `origin.path`. With `requireOwnerOnly`, refuses a file that group
    /// or others may access: a private key must be mode 0600 (or 0400). The mode is checked on the
    /// opened descriptor, so the file checked is the file read.
    static func readFile(_ origin: PEMOrigin, requireOwnerOnly: Bool) throws(TLSError) -> [UInt8] {
        do {
            return try Files.readSmallRegularFile(origin.path!, limit: maximumFileBytes, requireOwnerOnly: requireOwnerOnly)
        } catch {
            switch error {
            case .system(let errno):
                throw TLSError(kind: .configuration, message: "cannot read \(origin.asSource): \(errno.message)")
            case .notRegular:
                throw TLSError(kind: .configuration, message: "cannot read \(origin.asSource): not a regular file")
            case .notOwnerOnly(let violation):
                throw TLSError(kind: .configuration, message: "\(origin.asSource) \(violation)")
            case .tooLarge(let limit):
                throw TLSError(kind: .configuration, message: "\(origin.asSource) is larger than \(limit) bytes")
            }
        }
    }

    /// Every certificate in `pem`, in order; at least one. (Certificates are public: the bytes
    /// are copied into an ordinary memory BIO.)
    static func certificates(_ pem: [UInt8], _ origin: PEMOrigin) throws(TLSError) -> X509List {
        guard let bio = BIO_new(BIO_s_mem()) else { throw .drainingOpenSSL(.configuration, "BIO_new failed") }
        let input = BIOHandle(taking: bio)
        if !pem.isEmpty {
            let written = pem.withUnsafeBytes { BIO_write(input.pointer, $0.baseAddress, Int32(clamping: $0.count)) }
            guard written == Int32(pem.count) else { throw .drainingOpenSSL(.configuration, "BIO_write failed") }
        }
        var list = X509List()
        while true {
            OpenSSLErrorQueue.clear()
            guard let certificate = PEM_read_bio_X509(input.pointer, nil, refusePassword, nil) else { break }
            list.append(taking: certificate)
        }
        // The loop always ends on a failure; "no start line" after the last certificate is the
        // normal end of input, anything else is a damaged certificate.
        let last = ERR_peek_last_error()
        let cleanEnd = ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE
        if !cleanEnd || list.isEmpty {
            let explanation = list.isEmpty && cleanEnd
                ? "\(origin.asSource) holds no PEM \(origin.noun)"
                : "\(origin.asSource) holds a damaged PEM \(origin.noun) (number \(list.pointers.count + 1))"
            throw .drainingOpenSSL(.configuration, explanation)
        }
        OpenSSLErrorQueue.clear()
        return list
    }

    /// The private key in `pem`; encrypted keys are refused rather than prompting for a password.
    static func privateKey(_ pem: SecureBytes, _ origin: PEMOrigin) throws(TLSError) -> PrivateKeyHandle {
        // The closures return the raw pointer: SecureBytes' accessor only passes Copyable results.
        let key: OpaquePointer = try pem.withUnsafeBytes { raw throws(TLSError) in
            try withReadOnlyBIO(over: raw) { bio throws(TLSError) in
                OpenSSLErrorQueue.clear()
                guard let key = PEM_read_bio_PrivateKey(bio, nil, refusePassword, nil) else {
                    // OpenSSL 3's decoders report every failure as "unsupported"; say which
                    // case it is from the text itself.
                    let explanation = if !contains(raw, "-----BEGIN ") {
                        "\(origin.asSource) holds no PEM private key"
                    } else if contains(raw, "-----BEGIN ENCRYPTED PRIVATE KEY-----") || contains(raw, "Proc-Type: 4,ENCRYPTED") {
                        "\(origin.asSource) holds an encrypted private key; store it unencrypted with mode 0600"
                    } else {
                        "\(origin.asSource) holds an unreadable private key"
                    }
                    throw .drainingOpenSSL(.configuration, explanation)
                }
                return key
            }
        }
        return PrivateKeyHandle(taking: key)
    }

    /// Whether `needle` occurs in `bytes` (used on key PEM in place, without copying it).
    private static func contains(_ bytes: UnsafeRawBufferPointer, _ needle: String) -> Bool {
        let pattern = Array(needle.utf8)
        guard bytes.count >= pattern.count else { return false }
        for start in 0...(bytes.count - pattern.count) where bytes[start] == pattern[0] {
            if (1..<pattern.count).allSatisfy({ bytes[start + $0] == pattern[$0] }) { return true }
        }
        return false
    }

    /// Refuses a certificate outside its validity period at `now`.
    static func checkValidity(_ certificate: OpaquePointer, _ origin: PEMOrigin, now: Date) throws(TLSError) {
        let notBefore = PeerCertificate.date(X509_get0_notBefore(certificate))
        let notAfter = PeerCertificate.date(X509_get0_notAfter(certificate))
        if notAfter < now {
            throw TLSError(kind: .configuration, message: "\(origin.asObject) expired on \(dayAndTime(notAfter))")
        }
        if notBefore > now {
            throw TLSError(kind: .configuration, message: "\(origin.asObject) is not valid before \(dayAndTime(notBefore))")
        }
    }

    /// "2025-01-01 12:00:00 UTC".
    static func dayAndTime(_ date: Date) -> String {
        let text = date.formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: false).timeSeparator(.colon))
        return text.replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: "") + " UTC"
    }

}

/// Owns one reference to each certificate of a chain or trust list (arrays cannot hold ~Copyable
/// owners, so the list owns them as a whole).
struct X509List: ~Copyable {
    private(set) var pointers: [OpaquePointer] = []

    var isEmpty: Bool { pointers.isEmpty }

    mutating func append(taking pointer: OpaquePointer) { pointers.append(pointer) }

    consuming func close() {}

    deinit { for pointer in pointers { X509_free(pointer) } }
}
