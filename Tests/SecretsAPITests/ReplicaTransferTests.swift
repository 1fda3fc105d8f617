import Cryptography
import SecretStore
import Testing
@testable import SecretsAPI
import AWSProtocol

/// Values crossing regions: exported from one keyring in transfer form, imported under another
/// region's key, opened there with the ARN they were sealed under, and nowhere else.
@Suite struct ReplicaTransferTests {
    static let usARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"
    static let euARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf"

    static func sealer(fill: UInt8, region: String, seed: UInt64) -> ValueSealer {
        let key = Keyring.Key(keyId: "\(region)-default", accountId: "123456789012", region: region,
                              aliases: [Keyring.defaultAlias], material: SecureBytes(Array(repeating: fill, count: 32)))
        return ValueSealer(keyring: Keyring(keys: [key]), random: SeededRandomSource(seed: seed))
    }

    @Test func aValueCrossesRegionsAndOpensOnlyAsTheSameSecret() throws {
        let us = Self.sealer(fill: 1, region: "us-east-1", seed: 1)
        let eu = Self.sealer(fill: 2, region: "eu-west-1", seed: 2)
        let key = try us.key(for: nil, account: "123456789012", region: "us-east-1")
        let plaintext = SecureBytes(Array("the value".utf8))
        let sealed = try us.seal(plaintext, kind: .string, key: key, account: "123456789012", arn: Self.usARN, versionId: "v1").sealed

        let transfer = try us.exportForReplication(sealed, arn: Self.usARN, versionId: "v1")
        #expect(transfer.keyId == ValueSealer.transferKeyId && transfer.boundARN == Self.usARN)
        let imported = try eu.importReplicated(transfer, versionId: "v1", kmsKeyId: nil, account: "123456789012",
                                               region: "eu-west-1").get()
        #expect(imported.keyId == "eu-west-1-default")
        #expect(try eu.open(imported, arn: Self.euARN, versionId: "v1") == plaintext)
        // us-east-1's keyring cannot open eu-west-1's wrap, and the value is refused in any
        // other secret (another name) even though it names the ARN it was sealed under.
        #expect(throws: AWSError.self) { try us.open(imported, arn: Self.usARN, versionId: "v1") }
        let other = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:other-XyZxYz"
        #expect(throws: AWSError.self) { try eu.open(imported, arn: other, versionId: "v1") }
        // Another version id does not open either (the context binds it).
        #expect(throws: AWSError.self) { try eu.open(imported, arn: Self.euARN, versionId: "v2") }
    }

    @Test func aDamagedOrStoredFormTransferIsRefused() throws {
        let us = Self.sealer(fill: 1, region: "us-east-1", seed: 3)
        let eu = Self.sealer(fill: 2, region: "eu-west-1", seed: 4)
        let key = try us.key(for: nil, account: "123456789012", region: "us-east-1")
        let sealed = try us.seal(SecureBytes([1, 2, 3]), kind: .binary, key: key, account: "123456789012", arn: Self.usARN,
                                 versionId: "v1").sealed
        var transfer = try us.exportForReplication(sealed, arn: Self.usARN, versionId: "v1")
        // Not in transfer form: refused, never stored as if it were.
        #expect(throws: ReplicaSealingFailure.self) {
            try eu.importReplicated(sealed, versionId: "v1", kmsKeyId: nil, account: "123456789012", region: "eu-west-1").get()
        }
        transfer.envelope[transfer.envelope.count - 1] ^= 1
        #expect(throws: ReplicaSealingFailure.self) {
            try eu.importReplicated(transfer, versionId: "v1", kmsKeyId: nil, account: "123456789012", region: "eu-west-1").get()
        }
        #expect(throws: ReplicaSealingFailure.self) {
            try eu.importReplicated(transfer, versionId: "v1", kmsKeyId: "alias/missing", account: "123456789012",
                                    region: "eu-west-1").get()
        }
    }
}
