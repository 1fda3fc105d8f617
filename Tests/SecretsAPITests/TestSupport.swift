import JSON
import Cryptography
import Foundation
import Synchronization
import Testing
@testable import SecretsAPI
import AWSProtocol
import AWSTestSupport
import SigV4
import TestSupport

/// A deterministic `RandomSource` (SplitMix64) for reproducible tests; not for production.
final class SeededRandomSource: RandomSource {
    private let generator: Mutex<SplitMix64>

    init(seed: UInt64) { generator = Mutex(SplitMix64(seed: seed)) }

    func bytes(_ count: Int) throws(CryptoError) -> [UInt8] {
        generator.withLock { generator in
            var out: [UInt8] = []
            out.reserveCapacity(count)
            while out.count < count {
                withUnsafeBytes(of: generator.next().littleEndian) { out.append(contentsOf: $0.prefix(count - out.count)) }
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

/// The shared request fixture, under the name these tests use, with what these tests add.
typealias Fixture = RequestFixture

extension RequestFixture {
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
