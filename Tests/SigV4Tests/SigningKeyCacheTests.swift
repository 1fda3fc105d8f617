import Cryptography
import Foundation
import Testing
import AWSProtocol
import AWSTestSupport
@testable import SigV4

/// Signing keys derived once per access key and day: the same keys as deriving them every
/// time, never one derived from another secret, and a bounded number held.
@Suite struct SigningKeyCacheTests {
    static let scope = SigV4.Scope(date: "20150830", region: "us-east-1", service: "secretsmanager")
    static func secret(_ text: String) -> SecureBytes { SecureBytes(Array(text.utf8)) }

    @Test func theCachedKeyIsTheDerivedKey() {
        let cache = SigV4.SigningKeyCache()
        let derived = SigV4.signingKey(secretAccessKey: Self.secret("s1"), scope: Self.scope)
        #expect(cache.signingKey(accessKeyId: "AKIA1", secretAccessKey: Self.secret("s1"), scope: Self.scope) == derived)
        #expect(cache.signingKey(accessKeyId: "AKIA1", secretAccessKey: Self.secret("s1"), scope: Self.scope) == derived)
        #expect(cache.count == 1)
    }

    @Test func aChangedSecretIsNeverMatchedByAnOldDerivation() {
        let cache = SigV4.SigningKeyCache()
        _ = cache.signingKey(accessKeyId: "AKIA1", secretAccessKey: Self.secret("old secret"), scope: Self.scope)
        let now = cache.signingKey(accessKeyId: "AKIA1", secretAccessKey: Self.secret("new secret"), scope: Self.scope)
        #expect(now == SigV4.signingKey(secretAccessKey: Self.secret("new secret"), scope: Self.scope))
        // Another day, region or service is another entry.
        let nextDay = SigV4.Scope(date: "20150831", region: "us-east-1", service: "secretsmanager")
        #expect(cache.signingKey(accessKeyId: "AKIA1", secretAccessKey: Self.secret("new secret"), scope: nextDay)
            == SigV4.signingKey(secretAccessKey: Self.secret("new secret"), scope: nextDay))
    }

    @Test func itHoldsAtMostItsCapacity() {
        let cache = SigV4.SigningKeyCache(capacity: 8)
        for n in 0..<50 {
            _ = cache.signingKey(accessKeyId: "AKIA\(n)", secretAccessKey: Self.secret("s\(n)"), scope: Self.scope)
            #expect(cache.count <= 8)
        }
    }

    /// Verification with the cache answers exactly as without it: the right secret passes, the
    /// wrong one (the same access key, another secret: a rotated key) is refused, each time.
    @Test func verificationAgreesWithAndWithoutTheCache() throws {
        let cache = SigV4.SigningKeyCache()
        let verifier = SigV4.Verifier(region: RequestFixture.region, service: "secretsmanager")
        let request = RequestFixture.signed("GetSecretValue", body: #"{"SecretId":"a"}"#)
        let right = Self.secret(RequestFixture.secretAccessKey)
        let wrong = Self.secret(RequestFixture.secretAccessKey + "x")
        for _ in 0..<3 {
            #expect(throws: Never.self) {
                _ = try verifier.verify(request, now: RequestFixture.now, signingKeys: cache) { _, _ in right }
            }
            #expect(throws: AWSError.self) {
                _ = try verifier.verify(request, now: RequestFixture.now, signingKeys: cache) { _, _ in wrong }
            }
        }
    }
}
