import Foundation
import Testing
@testable import Cryptography

@Suite struct DigestTests {
    // FIPS 180-2 examples.
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func sha256(input: String, expected: String) {
        #expect(Hex.encode(SHA256.hash(input)) == expected)
    }

    // RFC 4231 test cases 1, 2 and 6.
    @Test(arguments: [
        (String(repeating: "0b", count: 20), Hex.encode(Array("Hi There".utf8)),
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        (Hex.encode(Array("Jefe".utf8)), Hex.encode(Array("what do ya want for nothing?".utf8)),
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        (String(repeating: "aa", count: 131), Hex.encode(Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)),
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
    ])
    func hmacSHA256(keyHex: String, messageHex: String, expected: String) throws {
        let key = try #require(Hex.decode(keyHex))
        let message = try #require(Hex.decode(messageHex))
        #expect(Hex.encode(HMACSHA256.authenticate(message, key: key)) == expected)
        #expect(Hex.encode(HMACSHA256.authenticate(message, key: SecureBytes(key))) == expected)
    }

    @Test func hexRoundTripAndRejections() {
        let bytes: [UInt8] = Array(0...255)
        #expect(Hex.decode(Hex.encode(bytes)) == bytes)
        #expect(Hex.decode("ABcd") == [0xAB, 0xCD])
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("zz") == nil)
    }

    @Test func constantTimeEquality() {
        #expect(ConstantTime.equals([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2]))
        #expect(ConstantTime.equals([UInt8](), [UInt8]()))
    }

    @Test func secureBytesNeverPrintTheirContents() {
        let secret = SecureBytes(Array("hunter2-hunter2".utf8))
        #expect(!"\(secret)".contains("hunter2"))
        #expect(!String(reflecting: secret).contains("hunter2"))
        #expect(secret == SecureBytes(Array("hunter2-hunter2".utf8)))
        #expect(secret != SecureBytes(Array("hunter2-hunter3".utf8)))
    }

    @Test func randomBytesAreRandomAndUniformIsInRange() throws {
        let a = try Random.bytes(32), b = try Random.bytes(32)
        #expect(a.count == 32 && a != b)
        var counts = [Int](repeating: 0, count: 7)
        for _ in 0..<7000 { counts[Int(try Random.uniform(below: 7))] += 1 }
        // Each bucket expects 1000; 6 standard deviations is about ±190.
        #expect(counts.allSatisfy { (800...1200).contains($0) }, "\(counts)")
    }
}

@Suite struct KeyringTests {
    static let material = Data(repeating: 7, count: 32).base64EncodedString()

    func document(_ keys: [[String: Any]]) throws -> Data {
        try JSONSerialization.data(withJSONObject: ["keys": keys])
    }

    func key(_ changes: [String: Any] = [:]) -> [String: Any] {
        var k: [String: Any] = ["keyId": "k1", "accountId": "123456789012", "region": "us-east-1",
                                "aliases": ["alias/aws/secretsmanager"], "material": Self.material]
        for (name, value) in changes { k[name] = value }
        return k
    }

    @Test func roundTripAndLookup() throws {
        let ring = try Keyring(json: try document([key(), key(["keyId": "k2", "aliases": ["alias/other"]])]))
        let again = try Keyring(json: ring.encoded())
        #expect(again.keys.map(\.keyId) == ["k1", "k2"])
        #expect(again.keys[0].material == ring.keys[0].material)
        #expect(again.key(named: "alias/aws/secretsmanager", account: "123456789012")?.keyId == "k1")
        #expect(again.key(named: "arn:aws:kms:us-east-1:123456789012:key/k2", account: "123456789012")?.keyId == "k2")
        #expect(again.key(named: "arn:aws:kms:us-east-1:123456789012:alias/other", account: "123456789012")?.keyId == "k2")
        #expect(again.key(named: "k1", account: "111122223333") == nil)
    }

    @Test(arguments: [
        (["material": Data(repeating: 1, count: 16).base64EncodedString()], "must be 32"),
        (["material": "***"], "not base64"),
        (["accountId": "12345"], "12 digits"),
        (["aliases": ["aws/secretsmanager"]], "must start with 'alias/'"),
        (["keyId": ""], "keyId: missing"),
    ] as [([String: any Sendable], String)])
    func rejections(changes: [String: any Sendable], expected: String) throws {
        var thrown: Keyring.FormatError?
        let data = try document([key(changes)])
        do { _ = try Keyring(json: data) } catch { thrown = error }
        #expect(thrown?.message.contains(expected) == true, "\(String(describing: thrown))")
    }

    @Test func duplicateIdsAndAliasesAreRefused() throws {
        #expect(throws: Keyring.FormatError.self) { try Keyring(json: try document([key(), key()])) }
        #expect(throws: Keyring.FormatError.self) { try Keyring(json: try document([key(), key(["keyId": "k2"])])) }
        #expect(throws: Keyring.FormatError.self) { try Keyring(json: Data("[]".utf8)) }
    }
}

@Suite struct IncrementalDigestTests {
    /// The streaming hasher gives the one-shot digest however the data is cut into pieces.
    @Test func piecesHashLikeTheWhole() {
        var generator = SystemRandomNumberGenerator()
        let hasher = SHA256.Hasher()
        for _ in 0..<200 {
            let data = (0..<Int.random(in: 0..<3000, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            var offset = 0
            while offset < data.count {
                let step = min(data.count - offset, Int.random(in: 0...300, using: &generator))
                hasher.update(data[offset..<(offset + step)])
                offset += step
            }
            #expect(hasher.byteCount == data.count)
            #expect(hasher.finalize() == SHA256.hash(data))
            #expect(hasher.byteCount == 0)
        }
        hasher.update(CollectionOfOne(0x61))
        #expect(Hex.encode(hasher.finalize()) == "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb")  // "a"
    }

    /// The fast paths (low-level SHA-256, HMAC built on it) against OpenSSL's EVP digest and
    /// its own HMAC(), over random keys (shorter than, equal to and longer than the 64-byte
    /// block) and messages.
    @Test func fastPathsMatchOpenSSL() {
        var generator = SystemRandomNumberGenerator()
        let hasher = SHA256.Hasher()
        for _ in 0..<1000 {
            let key = (0..<Int.random(in: 0...150, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let message = (0..<Int.random(in: 0...400, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            #expect(HMACSHA256.authenticate(message, key: key) == HMACSHA256.openSSLAuthenticate(message, key: key))
            #expect(HMACSHA256.authenticate(message, key: SecureBytes(key)) == HMACSHA256.openSSLAuthenticate(message, key: key))
            hasher.update(message)
            #expect(SHA256.hash(message) == hasher.finalize())
        }
    }

    @Test func hexAndUUIDs() throws {
        #expect(Hex.encode([0x00, 0x0f, 0xa5, 0xff]) == "000fa5ff")
        var appended = Array("x".utf8)
        Hex.append([0xde, 0xad], to: &appended)
        #expect(String(decoding: appended, as: UTF8.self) == "xdead")
        for _ in 0..<200 {
            let id = try Random.uuidString(using: SystemRandomSource())
            let groups = id.split(separator: "-", omittingEmptySubsequences: false).map(\.count)
            #expect(groups == [8, 4, 4, 4, 12], "\(id)")
            #expect(id.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) || $0 == 0x2D })
            let characters = Array(id)
            #expect(characters[14] == "4")
            #expect("89ab".contains(characters[19]))
        }
    }
}

@Suite struct BatchedRandomSourceTests {
    /// Counts the calls and hands out a running byte sequence, so the batch's bookkeeping shows.
    final class CountingSource: RandomSource, @unchecked Sendable {
        // Safety: the tests call it from one thread.
        var calls = 0
        var next: UInt8 = 0
        func bytes(_ count: Int) throws(CryptoError) -> [UInt8] {
            calls += 1
            return (0..<count).map { _ in defer { next &+= 1 }; return next }
        }
    }

    @Test func servesEachBaseByteOnceInOrder() throws {
        let base = CountingSource()
        let batched = BatchedRandomSource(base: base, batchBytes: 64)
        var served: [UInt8] = []
        for size in [16, 16, 16, 10, 16, 1, 64, 0, 5] { served += try batched.bytes(size) }
        // 16+16+16+10 = 58 from the first batch; 16 needs a new one (6 bytes of the first are
        // dropped, never handed out); then 1; 64 fits no remaining batch: a third; 0; and 5 a
        // fourth, the third being used up.
        #expect(served.count == 16 * 4 + 10 + 1 + 64 + 5)
        #expect(Array(served[0..<58]) == (0..<58).map(UInt8.init))
        #expect(Array(served[58..<74]) == (64..<80).map(UInt8.init))
        #expect(base.calls == 4)
        #expect(try batched.bytes(100).count == 100)  // larger than a batch: straight from the base
        #expect(base.calls == 5)
    }

    @Test func idsFromTheSystemSourceDiffer() throws {
        let batched = BatchedRandomSource(base: SystemRandomSource())
        let ids = try (0..<2000).map { _ in try Random.uuidString(using: batched) }
        #expect(Set(ids).count == ids.count)
    }
}
