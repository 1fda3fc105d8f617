import Foundation
import Testing
import Cryptography

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
