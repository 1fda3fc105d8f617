import Testing
import Cryptography

@Suite struct AESGCMTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        var name: String
        var key: String
        var nonce: String
        var plaintext: String
        var associatedData: String
        var ciphertext: String
        var tag: String
        var testDescription: String { name }
    }

    private static let specKey = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"
    private static let specPlaintext = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
        + "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255"
    private static let specCiphertext = "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
        + "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad"

    /// McGrew & Viega, "The Galois/Counter Mode of Operation", appendix B, test cases 13–16
    /// (AES-256, 96-bit IV), and one NIST CAVP gcmEncryptExtIV256 case with AAD.
    static let vectors: [Vector] = [
        Vector(name: "GCM spec test case 13 (empty plaintext, no AAD)",
               key: String(repeating: "00", count: 32), nonce: String(repeating: "00", count: 12),
               plaintext: "", associatedData: "", ciphertext: "", tag: "530f8afbc74536b9a963b4f1c4cb738b"),
        Vector(name: "GCM spec test case 14 (one zero block)",
               key: String(repeating: "00", count: 32), nonce: String(repeating: "00", count: 12),
               plaintext: String(repeating: "00", count: 16), associatedData: "",
               ciphertext: "cea7403d4d606b6e074ec5d3baf39d18", tag: "d0d1c8a799996bf0265b98b5d48ab919"),
        Vector(name: "GCM spec test case 15 (four blocks, no AAD)",
               key: specKey, nonce: "cafebabefacedbaddecaf888", plaintext: specPlaintext, associatedData: "",
               ciphertext: specCiphertext, tag: "b094dac5d93471bdec1a502270e3cc6c"),
        Vector(name: "GCM spec test case 16 (partial block, with AAD)",
               key: specKey, nonce: "cafebabefacedbaddecaf888", plaintext: String(specPlaintext.prefix(120)),
               associatedData: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
               ciphertext: String(specCiphertext.prefix(120)), tag: "76fc6ece0f4e1768cddf8853bb2d551b"),
        Vector(name: "NIST CAVP gcmEncryptExtIV256 (16-byte plaintext, 20-byte AAD)",
               key: "83688deb4af8007f9b713b47cfa6c73e35ea7a3aa4ecdb414dded03bf7a0fd3a",
               nonce: "0b459724904e010a46901cf3", plaintext: "33d893a2114ce06fc15d55e454cf90c3",
               associatedData: "794a14ccd178c8ebfd1379dc704c5e208f9d8424",
               ciphertext: "cc66bee423e3fcd4c0865715e9586696", tag: "0fb291bd3dba94a1dfd8b286cfb97ac5"),
    ]

    @Test(arguments: vectors)
    func knownAnswer(_ v: Vector) throws {
        let key = SecureBytes(try #require(Hex.decode(v.key)))
        let nonce = try #require(Hex.decode(v.nonce))
        let plaintext = try #require(Hex.decode(v.plaintext))
        let aad = try #require(Hex.decode(v.associatedData))

        let sealed = try AESGCM.seal(plaintext, key: key, nonce: nonce, associatedData: aad)
        #expect(Hex.encode(sealed.ciphertext) == v.ciphertext)
        #expect(Hex.encode(sealed.tag) == v.tag)
        // The SecureBytes overload gives the same answer.
        let again = try AESGCM.seal(SecureBytes(plaintext), key: key, nonce: nonce, associatedData: aad)
        #expect(again.ciphertext == sealed.ciphertext && again.tag == sealed.tag)

        let opened = try AESGCM.open(ciphertext: try #require(Hex.decode(v.ciphertext)), tag: try #require(Hex.decode(v.tag)),
                                     key: key, nonce: nonce, associatedData: aad)
        #expect(opened.unsafeCopiedBytes == plaintext)
    }

    @Test(arguments: [0, 1, 15, 16, 17, 65_536])
    func roundTrip(size: Int) throws {
        let key = try SecureBytes(randomCount: 32)
        let nonce = try Random.bytes(12)
        let plaintext = SecureBytes(try Random.bytes(size))
        let aad = Array("arn:aws:secretsmanager:us-east-1:111122223333:secret:x".utf8)
        let sealed = try AESGCM.seal(plaintext, key: key, nonce: nonce, associatedData: aad)
        #expect(sealed.ciphertext.count == size)
        #expect(sealed.tag.count == AESGCM.tagByteCount)
        let opened = try AESGCM.open(ciphertext: sealed.ciphertext, tag: sealed.tag, key: key, nonce: nonce, associatedData: aad)
        #expect(opened == plaintext)
    }

    enum Tamper: String, CaseIterable, Sendable { case ciphertext, tag, associatedData, nonce, key, shortTag, emptyTag }

    @Test(arguments: Tamper.allCases)
    func tamperingFailsAuthentication(_ tamper: Tamper) throws {
        let key = try SecureBytes(randomCount: 32)
        let nonce = try Random.bytes(12)
        let aad = Array("context".utf8)
        let sealed = try AESGCM.seal(Array("attack at dawn".utf8), key: key, nonce: nonce, associatedData: aad)

        var ciphertext = sealed.ciphertext, tag = sealed.tag, associatedData = aad, n = nonce, k = key
        switch tamper {
        case .ciphertext: ciphertext[3] ^= 0x01
        case .tag: tag[15] ^= 0x80
        case .associatedData: associatedData.append(0)
        case .nonce: n[0] ^= 0x01
        case .key: k = try SecureBytes(randomCount: 32)
        case .shortTag: tag.removeLast()
        case .emptyTag: tag = []
        }
        do {
            _ = try AESGCM.open(ciphertext: ciphertext, tag: tag, key: k, nonce: n, associatedData: associatedData)
            Issue.record("tampered \(tamper) opened")
        } catch {
            #expect(error.code == .authenticationFailed)
            #expect(error.operation == "AES-GCM open")
            #expect(error.message.hasPrefix("authentication failed"))
            #expect(!error.description.contains("attack"))
        }
    }

    @Test func emptyCiphertextWithWrongAADFails() throws {
        let key = try SecureBytes(randomCount: 32)
        let nonce = try Random.bytes(12)
        let sealed = try AESGCM.seal([UInt8](), key: key, nonce: nonce, associatedData: [1, 2, 3])
        #expect(sealed.ciphertext.isEmpty)
        #expect(throws: CryptoError.self) {
            try AESGCM.open(ciphertext: [], tag: sealed.tag, key: key, nonce: nonce, associatedData: [1, 2, 4])
        }
        #expect(try AESGCM.open(ciphertext: [], tag: sealed.tag, key: key, nonce: nonce, associatedData: [1, 2, 3]).isEmpty)
    }

    @Test func failureLeavesNoQueuedOpenSSLErrors() throws {
        let key = try SecureBytes(randomCount: 32)
        let nonce = try Random.bytes(12)
        let sealed = try AESGCM.seal([1, 2, 3], key: key, nonce: nonce, associatedData: [])
        _ = try? AESGCM.open(ciphertext: sealed.ciphertext, tag: [UInt8](repeating: 0, count: 16),
                             key: key, nonce: nonce, associatedData: [])
        #expect(OpenSSLErrorQueue.drain().isEmpty)
    }
}
