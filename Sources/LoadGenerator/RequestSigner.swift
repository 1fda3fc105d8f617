import Cryptography
import Foundation
import AWSProtocol
import SigV4

/// SigV4 for the generator's AWS JSON 1.1 calls: `POST /` with exactly the headers Host,
/// Content-Type, X-Amz-Target and X-Amz-Date, all signed.
///
/// Guarantees:
/// - For the same request and time it produces the same `X-Amz-Date` and `Authorization` as
///   `SigV4.sign` (a test holds it to that, and the in-test server verifies every request with
///   `SigV4.Verifier`).
/// - Every request is signed on its own: its body hash, canonical request, string to sign and
///   HMAC are computed afresh each time. Only what cannot change within a day is reused: the
///   derived signing key (HMAC chain of secret, day, region, service), as the AWS SDKs for Go and
///   Java cache it, and the `X-Amz-Date` text within one second. This keeps the generator's own
///   CPU, which on a small machine is taken from the server it measures, to a minimum.
struct RequestSigner {
    let accessKeyId: String
    private let secretAccessKey: SecureBytes
    private let region: String
    private let service: String
    /// `host:AUTHORITY\n` as it appears in the canonical headers.
    private let canonicalHost: [UInt8]

    private var keyDay: [UInt8] = []
    private var signingKey = SecureBytes([])
    private var amzSecond = Int64.min
    private var amzDate: [UInt8] = []

    static let contentType = "application/x-amz-json-1.1"
    static let signedHeaders = Array("content-type;host;x-amz-date;x-amz-target".utf8)

    init(accessKeyId: String, secretAccessKey: SecureBytes, region: String, service: String, host: String) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.region = region
        self.service = service
        canonicalHost = Array("host:\(host)\n".utf8)
    }

    /// Signs a call with `X-Amz-Target: target` and `body` at time `now`.
    /// - Returns: the `X-Amz-Date` and `Authorization` header values (ASCII bytes).
    mutating func sign(target: String, body: [UInt8], now: Date) -> (amzDate: [UInt8], authorization: [UInt8]) {
        let second = Int64(now.timeIntervalSince1970.rounded(.down))
        if second != amzSecond {
            amzSecond = second
            amzDate = Array(AWSTimestamp.basic(now).utf8)
        }
        let day = Array(amzDate[0..<8])
        if day != keyDay {
            keyDay = day
            signingKey = SigV4.signingKey(
                secretAccessKey: secretAccessKey,
                scope: SigV4.Scope(date: String(decoding: day, as: UTF8.self), region: region, service: service)
            )
        }
        var canonical: [UInt8] = []
        canonical.reserveCapacity(320)
        canonical.append(contentsOf: "POST\n/\n\ncontent-type:\(Self.contentType)\n".utf8)
        canonical.append(contentsOf: canonicalHost)
        canonical.append(contentsOf: "x-amz-date:".utf8)
        canonical.append(contentsOf: amzDate)
        canonical.append(contentsOf: "\nx-amz-target:".utf8)
        canonical.append(contentsOf: target.utf8)
        canonical.append(contentsOf: "\n\n".utf8)
        canonical.append(contentsOf: Self.signedHeaders)
        canonical.append(UInt8(ascii: "\n"))
        Self.appendHex(SHA256.hash(body), to: &canonical)

        let scope = Array("/\(region)/\(service)/\(SigV4.terminator)".utf8)
        var toSign: [UInt8] = []
        toSign.reserveCapacity(160)
        toSign.append(contentsOf: "\(SigV4.algorithm)\n".utf8)
        toSign.append(contentsOf: amzDate)
        toSign.append(UInt8(ascii: "\n"))
        toSign.append(contentsOf: day)
        toSign.append(contentsOf: scope)
        toSign.append(UInt8(ascii: "\n"))
        Self.appendHex(SHA256.hash(canonical), to: &toSign)

        var authorization: [UInt8] = []
        authorization.reserveCapacity(256)
        authorization.append(contentsOf: "\(SigV4.algorithm) Credential=\(accessKeyId)/".utf8)
        authorization.append(contentsOf: day)
        authorization.append(contentsOf: scope)
        authorization.append(contentsOf: ", SignedHeaders=".utf8)
        authorization.append(contentsOf: Self.signedHeaders)
        authorization.append(contentsOf: ", Signature=".utf8)
        Self.appendHex(HMACSHA256.authenticate(toSign, key: signingKey), to: &authorization)
        return (amzDate, authorization)
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    static func appendHex(_ bytes: [UInt8], to out: inout [UInt8]) {
        for b in bytes {
            out.append(hexDigits[Int(b >> 4)])
            out.append(hexDigits[Int(b & 0xF)])
        }
    }
}
