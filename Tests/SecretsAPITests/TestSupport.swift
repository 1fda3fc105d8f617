import JSON
import Cryptography
import Foundation
import Synchronization
import Testing
@testable import SecretsAPI
import AWSProtocol
import SigV4

/// A deterministic `RandomSource` (SplitMix64) for reproducible tests; not for production.
final class SeededRandomSource: RandomSource {
    private let state: Mutex<UInt64>

    init(seed: UInt64) { state = Mutex(seed) }

    func bytes(_ count: Int) throws(CryptoError) -> [UInt8] {
        state.withLock { s in
            var out: [UInt8] = []
            out.reserveCapacity(count)
            while out.count < count {
                s &+= 0x9E37_79B9_7F4A_7C15
                var z = s
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                z ^= z >> 31
                withUnsafeBytes(of: z.littleEndian) { out.append(contentsOf: $0.prefix(count - out.count)) }
            }
            return out
        }
    }
}

/// A random source that always fails, to exercise the error path.
struct FailingRandomSource: RandomSource {
    func bytes(_ count: Int) throws(CryptoError) -> [UInt8] {
        throw CryptoError(operation: "test", message: "no entropy")
    }
}

enum Fixture {
    static let region = "us-east-1"
    static let accessKeyId = "AKIAIOSFODNN7EXAMPLE"
    static let secretAccessKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    /// 2015-08-30T12:36:00Z.
    static let now = AWSTimestamp.parseBasic("20150830T123600Z")!

    static let iamJSON = """
    {"accounts": [{"accountId": "123456789012", "principals": [
       {"type": "user", "name": "admin", "arn": "arn:aws:iam::123456789012:user/admin",
        "accessKeys": [{"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}],
        "policies": [{"name": "admin", "document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}]}}],
        "tags": {"team": "platform"}}]}]}
    """

    static func identities() throws -> IAMConfiguration {
        try IAMConfiguration(json: Data(iamJSON.utf8))
    }

    static func service(seed: UInt64 = 42) throws -> SecretsManagerService {
        SecretsManagerService(region: region, identities: try identities(), random: SeededRandomSource(seed: seed))
    }

    /// An unsigned Secrets Manager call as botocore shapes it.
    static func call(_ operation: String?, body: String = "{}", extraHeaders: [(name: String, value: String)] = []) -> AWSRequest {
        var headers: [(name: String, value: String)] = [
            (name: "Host", value: "secretsmanager.us-east-1.amazonaws.com"),
            (name: "Content-Type", value: "application/x-amz-json-1.1"),
        ]
        if let operation { headers.append((name: "X-Amz-Target", value: "secretsmanager.\(operation)")) }
        headers += extraHeaders
        return AWSRequest(method: "POST", path: "/", headers: headers, body: Array(body.utf8), sourceIP: "127.0.0.1")
    }

    /// The same call, signed with the fixture's credentials at `at`.
    static func signed(
        _ operation: String?, body: String = "{}", at: Date = now, region: String = region,
        service: String = "secretsmanager", accessKeyId: String = accessKeyId, secret: String = secretAccessKey
    ) -> AWSRequest {
        SigV4.sign(
            call(operation, body: body), accessKeyId: accessKeyId, secretAccessKey: SecureBytes(Array(secret.utf8)),
            region: region, service: service, now: at
        )
    }
}

/// A decoded answer: status, error type and message (if any), and the JSON body.
struct Answer {
    var status: Int
    var json: JSONValue
    var type: String? { json["__type"]?.stringValue }
    var message: String? { (json["message"] ?? json["Message"])?.stringValue }

    init(_ response: AWSResponse) throws {
        status = response.status
        json = try JSONValue.parse(response.body)
    }
}
