import Synchronization
import Testing
import Cryptography

/// A deterministic `RandomSource` (SHA-256 in counter mode over a seed) that remembers every draw,
/// so tests can check that drawn data keys never leak into a record.
final class RecordingRandom: RandomSource {
    private let state: Mutex<(counter: UInt64, draws: [[UInt8]])>
    private let seed: UInt64

    init(seed: UInt64) {
        self.seed = seed
        state = Mutex((0, []))
    }

    func bytes(_ count: Int) throws(CryptoError) -> [UInt8] {
        state.withLock { state in
            var out: [UInt8] = []
            while out.count < count {
                state.counter += 1
                let block = withUnsafeBytes(of: (seed, state.counter)) { Array($0) }
                out += SHA256.hash(block)
            }
            out = Array(out.prefix(count))
            state.draws.append(out)
            return out
        }
    }

    var draws: [[UInt8]] { state.withLock { $0.draws } }
}

enum Fixtures {
    static func key(_ id: String, account: String = "111122223333", fill: UInt8? = nil) throws -> Keyring.Key {
        let material = try fill.map { [UInt8](repeating: $0, count: 32) } ?? Random.bytes(32)
        return Keyring.Key(keyId: id, accountId: account, region: "us-east-1", aliases: [], material: SecureBytes(material))
    }

    static let context = Array("arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf\u{0}v-1".utf8)
}

/// True when `needle` occurs as a contiguous run inside `haystack`.
func contains(_ haystack: [UInt8], _ needle: some Collection<UInt8>) -> Bool {
    let n = Array(needle)
    guard !n.isEmpty, n.count <= haystack.count else { return n.isEmpty }
    for start in 0...(haystack.count - n.count) where haystack[start..<start + n.count].elementsEqual(n) {
        return true
    }
    return false
}

@Suite struct EnvelopeTests {
    @Test(arguments: [0, 1, 65_536])
    func roundTrip(size: Int) throws {
        let key = try Fixtures.key("k1")
        let keyring = Keyring(keys: [try Fixtures.key("other"), key])
        let value = SecureBytes(try Random.bytes(size))
        let sealed = try Envelope.seal(value, under: key, context: Fixtures.context, random: SystemRandomSource())
        #expect(sealed.keyId == "k1")
        #expect(sealed.ciphertext.count == size)
        #expect(try Envelope.open(sealed, keyring: keyring, context: Fixtures.context) == value)
        // And through the storage encoding.
        let decoded = try SealedSecret(decoding: sealed.encoded())
        #expect(decoded == sealed)
        #expect(try Envelope.open(decoded, keyring: keyring, context: Fixtures.context) == value)
    }

    @Test func drawsDataKeyThenNoncesFromTheGivenSource() throws {
        let key = try Fixtures.key("k1")
        let random = RecordingRandom(seed: 7)
        let sealed = try Envelope.seal(SecureBytes(Array("v".utf8)), under: key, context: Fixtures.context, random: random)
        let draws = random.draws
        #expect(draws.map(\.count) == [32, 12, 12])
        #expect(sealed.nonce == draws[1])
        #expect(sealed.dataKeyNonce == draws[2])
        // The same seed gives the same record: sealing is a function of its inputs and the source.
        let again = try Envelope.seal(SecureBytes(Array("v".utf8)), under: key, context: Fixtures.context,
                                      random: RecordingRandom(seed: 7))
        #expect(again == sealed)
    }

    @Test func twoSealsOfTheSameValueDiffer() throws {
        let key = try Fixtures.key("k1")
        let value = SecureBytes(Array("same value".utf8))
        let random = SystemRandomSource()
        let a = try Envelope.seal(value, under: key, context: Fixtures.context, random: random)
        let b = try Envelope.seal(value, under: key, context: Fixtures.context, random: random)
        #expect(a.wrappedDataKey != b.wrappedDataKey)
        #expect(a.nonce != b.nonce)
        #expect(a.dataKeyNonce != b.dataKeyNonce)
        #expect(a.ciphertext != b.ciphertext)
        #expect(a.encoded() != b.encoded())
    }

    @Test func wrongKeyringKeyFails() throws {
        let key = try Fixtures.key("k1")
        let sealed = try Envelope.seal(SecureBytes([1, 2, 3]), under: key, context: Fixtures.context, random: SystemRandomSource())
        // Same id, different material: the data key does not unwrap.
        let impostor = Keyring(keys: [try Fixtures.key("k1")])
        let error = try #require(throws: CryptoError.self) {
            try Envelope.open(sealed, keyring: impostor, context: Fixtures.context)
        }
        #expect(error.code == .authenticationFailed)
        #expect(error.operation.contains("data key"))
    }

    @Test func unknownKeyIdNamesTheKeyNotTheValue() throws {
        let key = try Fixtures.key("key-that-left")
        let value = "s3cr3t-password-value"
        let sealed = try Envelope.seal(SecureBytes(Array(value.utf8)), under: key, context: Fixtures.context,
                                       random: SystemRandomSource())
        let error = try #require(throws: CryptoError.self) {
            try Envelope.open(sealed, keyring: Keyring(keys: [try Fixtures.key("k2")]), context: Fixtures.context)
        }
        #expect(error.code == .unknownKey)
        #expect(error.description.contains("key-that-left"))
        #expect(!error.description.contains(value))
    }

    @Test func wrongContextFails() throws {
        let key = try Fixtures.key("k1")
        let keyring = Keyring(keys: [key])
        let sealed = try Envelope.seal(SecureBytes([9, 9, 9]), under: key, context: Array("arn-x/v1".utf8),
                                       random: SystemRandomSource())
        for wrong in [Array("arn-x/v2".utf8), Array("arn-y/v1".utf8), [], Array("arn-x/v1".utf8) + [0]] {
            #expect(throws: CryptoError.self) { try Envelope.open(sealed, keyring: keyring, context: wrong) }
        }
    }

    /// A value's ciphertext moved under another record's data key (both under the same keyring
    /// key and context) is caught by the value's tag.
    @Test func valueMovedUnderAnotherDataKeyFails() throws {
        let key = try Fixtures.key("k1")
        let keyring = Keyring(keys: [key])
        let random = SystemRandomSource()
        let a = try Envelope.seal(SecureBytes(Array("alpha".utf8)), under: key, context: Fixtures.context, random: random)
        let b = try Envelope.seal(SecureBytes(Array("bravo".utf8)), under: key, context: Fixtures.context, random: random)
        var mixed = a
        mixed.nonce = b.nonce
        mixed.ciphertext = b.ciphertext
        mixed.tag = b.tag
        let error = try #require(throws: CryptoError.self) { try Envelope.open(mixed, keyring: keyring, context: Fixtures.context) }
        #expect(error.code == .authenticationFailed)
        #expect(error.operation == "Envelope open (value)")
    }

    enum Swap: String, CaseIterable, Sendable {
        case nonces, tags, dataKeyAndCiphertext, keyIdRelabelled, flippedCiphertextBit, flippedWrappedKeyBit
    }

    @Test(arguments: Swap.allCases)
    func swappedOrAlteredFieldsFail(_ swap: Swap) throws {
        let k1 = try Fixtures.key("k1"), k2 = try Fixtures.key("k2")
        let keyring = Keyring(keys: [k1, k2])
        // 32 bytes, so that swapping it with the wrapped data key keeps the record's shape.
        let value = SecureBytes([UInt8](repeating: 0x5A, count: 32))
        var sealed = try Envelope.seal(value, under: k1, context: Fixtures.context, random: SystemRandomSource())
        switch swap {
        case .nonces: (sealed.nonce, sealed.dataKeyNonce) = (sealed.dataKeyNonce, sealed.nonce)
        case .tags: (sealed.tag, sealed.dataKeyTag) = (sealed.dataKeyTag, sealed.tag)
        case .dataKeyAndCiphertext: (sealed.ciphertext, sealed.wrappedDataKey) = (sealed.wrappedDataKey, sealed.ciphertext)
        case .keyIdRelabelled: sealed.keyId = "k2"
        case .flippedCiphertextBit: sealed.ciphertext[0] ^= 1
        case .flippedWrappedKeyBit: sealed.wrappedDataKey[31] ^= 0x80
        }
        let error = try #require(throws: CryptoError.self) { try Envelope.open(sealed, keyring: keyring, context: Fixtures.context) }
        #expect(error.code == .authenticationFailed)
    }

    @Test func malformedRecordThrowsInsteadOfTrapping() throws {
        let key = try Fixtures.key("k1")
        var sealed = try Envelope.seal(SecureBytes([1]), under: key, context: Fixtures.context, random: SystemRandomSource())
        sealed.nonce.removeLast()
        let error = try #require(throws: CryptoError.self) {
            try Envelope.open(sealed, keyring: Keyring(keys: [key]), context: Fixtures.context)
        }
        #expect(error.code == .malformed)
        #expect(error.message.contains("nonce"))
    }

    @Test func rewrapMovesTheDataKeyToTheNewKeyOnly() throws {
        let old = try Fixtures.key("old"), new = try Fixtures.key("new", account: "444455556666")
        let value = SecureBytes(Array("rotate me".utf8))
        let random = SystemRandomSource()
        let sealed = try Envelope.seal(value, under: old, context: Fixtures.context, random: random)
        let rewrapped = try Envelope.rewrap(sealed, from: Keyring(keys: [old]), to: new, context: Fixtures.context, random: random)

        #expect(rewrapped.keyId == "new")
        #expect(rewrapped.nonce == sealed.nonce && rewrapped.ciphertext == sealed.ciphertext && rewrapped.tag == sealed.tag)
        #expect(rewrapped.wrappedDataKey != sealed.wrappedDataKey)
        #expect(rewrapped.dataKeyNonce != sealed.dataKeyNonce)

        #expect(try Envelope.open(rewrapped, keyring: Keyring(keys: [new]), context: Fixtures.context) == value)
        // The old key no longer opens it: it is not named, and forcing its id back in fails the tag.
        let oldOnly = Keyring(keys: [old])
        let unknown = try #require(throws: CryptoError.self) { try Envelope.open(rewrapped, keyring: oldOnly, context: Fixtures.context) }
        #expect(unknown.code == .unknownKey)
        var relabelled = rewrapped
        relabelled.keyId = "old"
        let forged = try #require(throws: CryptoError.self) { try Envelope.open(relabelled, keyring: oldOnly, context: Fixtures.context) }
        #expect(forged.code == .authenticationFailed)
    }

    @Test func rewrapNeedsTheRightContextAndKey() throws {
        let old = try Fixtures.key("old"), new = try Fixtures.key("new")
        let sealed = try Envelope.seal(SecureBytes([7]), under: old, context: Fixtures.context, random: SystemRandomSource())
        #expect(throws: CryptoError.self) {
            try Envelope.rewrap(sealed, from: Keyring(keys: [old]), to: new, context: [1], random: SystemRandomSource())
        }
        let error = try #require(throws: CryptoError.self) {
            try Envelope.rewrap(sealed, from: Keyring(keys: [new]), to: new, context: Fixtures.context, random: SystemRandomSource())
        }
        #expect(error.code == .unknownKey)
        #expect(error.operation == "Envelope rewrap")
    }

    @Test func rewrapUnderTheSameKeyStillOpens() throws {
        let key = try Fixtures.key("k1")
        let keyring = Keyring(keys: [key])
        let value = SecureBytes([1, 2, 3, 4])
        let sealed = try Envelope.seal(value, under: key, context: Fixtures.context, random: SystemRandomSource())
        let again = try Envelope.rewrap(sealed, from: keyring, to: key, context: Fixtures.context, random: SystemRandomSource())
        #expect(again.dataKeyNonce != sealed.dataKeyNonce)
        #expect(try Envelope.open(again, keyring: keyring, context: Fixtures.context) == value)
    }

    /// Neither the value nor the drawn data key appears anywhere in the stored bytes.
    @Test func plaintextAndDataKeyNeverAppearInTheRecord() throws {
        let key = try Fixtures.key("k1", fill: 0x11)
        let plaintext = Array(String(repeating: "SUPER-SECRET-PASSWORD-0123456789;", count: 8).utf8)
        let random = RecordingRandom(seed: 42)
        let sealed = try Envelope.seal(SecureBytes(plaintext), under: key, context: Fixtures.context, random: random)
        let encoded = sealed.encoded()
        // No 8-byte run of the value (a chance match in random bytes is ~2^-64 per position).
        for start in stride(from: 0, through: plaintext.count - 8, by: 1) {
            #expect(!contains(encoded, plaintext[start..<start + 8]))
        }
        let dataKey = random.draws[0]
        #expect(!contains(encoded, dataKey))
        #expect(!contains(encoded, key.material.unsafeCopiedBytes))
        let text = "\(sealed) \(String(reflecting: sealed))"
        #expect(!text.contains("SUPER-SECRET"))
        #expect(text.contains("k1"))
    }

    @Test func descriptionsNeverShowTheValue() throws {
        let secret = "hunter2-correct-horse"
        let value = SecureBytes(Array(secret.utf8))
        let key = try Fixtures.key("k1")
        let sealed = try Envelope.seal(value, under: key, context: Fixtures.context, random: SystemRandomSource())
        var dumped = ""
        dump(value, to: &dumped)
        var dumpedKey = ""
        dump(key, to: &dumpedKey)
        let renderings = [String(describing: value), String(reflecting: value), "\(value)", dumped,
                          String(describing: sealed), String(reflecting: sealed), "\([value])"]
        for text in renderings {
            #expect(!text.contains(secret))
            // "104, 117" would be the bytes of "hu" printed as numbers.
            #expect(!text.contains("104"))
        }
        #expect(String(describing: value) == "SecureBytes(21 bytes)")
        // Without SecureBytes' empty custom mirror, `dump` walks into its storage and prints
        // "bytes: 32 elements" followed by every byte of the key material.
        #expect(dumpedKey.contains("material: SecureBytes(32 bytes)"))
        #expect(!dumpedKey.contains("32 elements"))
        #expect(!dumped.contains("21 elements"))
    }
}
