import Testing
import Cryptography

@Suite struct SealedSecretTests {
    static func sample(ciphertextCount: Int = 5) -> SealedSecret {
        SealedSecret(keyId: "k1", wrappedDataKey: [UInt8](repeating: 1, count: 32), dataKeyNonce: [UInt8](repeating: 2, count: 12),
                     dataKeyTag: [UInt8](repeating: 3, count: 16), nonce: [UInt8](repeating: 4, count: 12),
                     ciphertext: Array(0..<UInt8(ciphertextCount)), tag: [UInt8](repeating: 6, count: 16))
    }

    @Test func encodingIsTheDocumentedLayout() {
        let encoded = Self.sample().encoded()
        var expected: [UInt8] = [1]
        for field: [UInt8] in [Array("k1".utf8), [UInt8](repeating: 1, count: 32), [UInt8](repeating: 2, count: 12),
                               [UInt8](repeating: 3, count: 16), [UInt8](repeating: 4, count: 12), [0, 1, 2, 3, 4],
                               [UInt8](repeating: 6, count: 16)] {
            expected += [0, 0, 0, UInt8(field.count)] + field
        }
        #expect(encoded == expected)
        #expect(Self.sample().encoded() == encoded)
    }

    @Test(arguments: [0, 1, 4096])
    func roundTrip(ciphertextCount: Int) throws {
        var sample = Self.sample()
        sample.ciphertext = [UInt8](repeating: 0xCC, count: ciphertextCount)
        sample.keyId = "arn-ish/ключ"
        #expect(try SealedSecret(decoding: sample.encoded()) == sample)
    }

    @Test func everyTruncationThrows() {
        let encoded = Self.sample().encoded()
        for length in 0..<encoded.count {
            #expect(throws: CryptoError.self) { try SealedSecret(decoding: encoded.prefix(length)) }
        }
    }

    @Test func trailingBytesVersionAndLimitsAreRefused() throws {
        let encoded = Self.sample().encoded()
        let cases: [(String, [UInt8])] = [
            ("trailing", encoded + [0]),
            ("version", [2] + encoded.dropFirst()),
            ("huge length", [1, 0xFF, 0xFF, 0xFF, 0xFF] + encoded.dropFirst(5)),
            ("empty key id", [1, 0, 0, 0, 0] + encoded.dropFirst(7)),
            ("bad UTF-8", [1, 0, 0, 0, 2, 0xC3, 0x28] + encoded.dropFirst(7)),
            // Layout: version [0], keyId length [1..<5], "k1" [5..<7], key length [7..<11], key [11..<43].
            ("short wrapped key", Array(encoded.prefix(7)) + [0, 0, 0, 31] + encoded[11..<42] + encoded.dropFirst(43)),
        ]
        for (name, bytes) in cases {
            let error = try #require(throws: CryptoError.self, "\(name)") { try SealedSecret(decoding: bytes) }
            #expect(error.code == .malformed, "\(name)")
        }
    }

    /// Random garbage and single-byte corruptions never trap; the ones that still decode must
    /// re-encode to exactly the input (one encoding per value).
    @Test func garbageNeverCrashes() throws {
        let random = RecordingRandom(seed: 1)
        for round in 0..<2_000 {
            let length = Int(try random.bytes(1)[0]) + (round % 3 == 0 ? 0 : 100)
            var bytes = try random.bytes(length)
            if round % 2 == 0, !bytes.isEmpty { bytes[0] = SealedSecret.formatVersion }
            if let decoded = try? SealedSecret(decoding: bytes) { #expect(decoded.encoded() == bytes) }
        }
        let encoded = Self.sample().encoded()
        for index in encoded.indices {
            for flip: UInt8 in [0x01, 0x80, 0xFF] {
                var corrupt = encoded
                corrupt[index] ^= flip
                if let decoded = try? SealedSecret(decoding: corrupt) { #expect(decoded.encoded() == corrupt) }
            }
        }
    }

    @Test func descriptionShowsKeyIdAndSizeOnly() {
        let sample = Self.sample(ciphertextCount: 5)
        #expect(String(describing: sample) == "SealedSecret(keyId: k1, ciphertext: 5 bytes)")
        #expect(String(reflecting: sample) == String(describing: sample))
    }
}
