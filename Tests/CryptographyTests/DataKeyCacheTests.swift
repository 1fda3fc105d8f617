import Synchronization
import Testing
@testable import Cryptography
import TestSupport

/// The cache of unwrapped data keys: found only by everything the unwrap authenticated, used
/// only while the keyring holds the wrapping key, wiped (the locked bytes zeroed) when a key
/// expires, is evicted, dropped or removed, and never changes what `Envelope.open` returns.
@Suite struct DataKeyCacheTests {
    /// A clock the test moves.
    final class Clock: Sendable {
        let nanos = Atomic<UInt64>(1_000)
        func advance(seconds: Double) { nanos.add(UInt64(seconds * 1e9), ordering: .relaxed) }
        var read: @Sendable () -> UInt64 { { [self] in nanos.load(ordering: .relaxed) } }
    }

    static let minute: UInt64 = 60_000_000_000

    private func sealed(_ text: String, key: Keyring.Key, context: [UInt8] = Fixtures.context) throws -> SealedSecret {
        try Envelope.seal(SecureBytes(Array(text.utf8)), under: key, context: context, random: SystemRandomSource())
    }

    private func cacheKey(_ sealed: SealedSecret, context: [UInt8] = Fixtures.context) -> DataKeyCache.Key {
        DataKeyCache.Key(keyId: sealed.keyId, wrap: sealed.dataKeyNonce + sealed.wrappedDataKey + sealed.dataKeyTag, context: context)
    }

    @Test func aSecondOpenUsesTheCachedKeyAndGivesTheSameValue() throws {
        let key = try Fixtures.key("k1")
        let keyring = Keyring(keys: [key])
        let cache = try #require(DataKeyCache(capacity: 8, maxAgeNanoseconds: Self.minute, now: Clock().read))
        let record = try sealed("hunter2", key: key)
        #expect(try Envelope.open(record, keyring: keyring, context: Fixtures.context, cache: cache).unsafeCopiedBytes == Array("hunter2".utf8))
        #expect(try Envelope.open(record, keyring: keyring, context: Fixtures.context, cache: cache).unsafeCopiedBytes == Array("hunter2".utf8))
        #expect(cache.statistics == DataKeyCache.Statistics(hits: 1, misses: 1, keys: 1))
    }

    @Test func aKeyPastItsAgeIsWipedAndUnwrappedAgain() throws {
        let key = try Fixtures.key("k1")
        let keyring = Keyring(keys: [key])
        let clock = Clock()
        let cache = try #require(DataKeyCache(capacity: 8, maxAgeNanoseconds: Self.minute, now: clock.read))
        let record = try sealed("v", key: key)
        _ = try Envelope.open(record, keyring: keyring, context: Fixtures.context, cache: cache)
        let slot = try #require(cache.slot(of: cacheKey(record)))
        #expect(!cache.slotIsZero(slot))
        clock.advance(seconds: 59)
        _ = try Envelope.open(record, keyring: keyring, context: Fixtures.context, cache: cache)
        #expect(cache.statistics.hits == 1)
        clock.advance(seconds: 2)
        // The lookup finds it too old: wiped, then unwrapped afresh (a miss) into a new slot.
        _ = try Envelope.open(record, keyring: keyring, context: Fixtures.context, cache: cache)
        #expect(cache.statistics == DataKeyCache.Statistics(hits: 1, misses: 2, keys: 1))
        #expect(cache.slotIsZero(slot))
    }

    @Test func theSweepWipesKeysNobodyReadsAgain() throws {
        let key = try Fixtures.key("k1")
        let keyring = Keyring(keys: [key])
        let clock = Clock()
        let cache = try #require(DataKeyCache(capacity: 8, maxAgeNanoseconds: Self.minute, now: clock.read))
        let old = try sealed("old", key: key)
        _ = try Envelope.open(old, keyring: keyring, context: Fixtures.context, cache: cache)
        clock.advance(seconds: 45)
        let young = try sealed("young", key: key)
        _ = try Envelope.open(young, keyring: keyring, context: Fixtures.context, cache: cache)
        let oldSlot = try #require(cache.slot(of: cacheKey(old)))
        clock.advance(seconds: 30)
        #expect(cache.sweep() == 1)
        #expect(cache.slotIsZero(oldSlot))
        #expect(cache.slot(of: cacheKey(old)) == nil)
        #expect(cache.slot(of: cacheKey(young)) != nil)
    }

    @Test func theOldestKeyIsEvictedAndWipedWhenFull() throws {
        let key = try Fixtures.key("k1")
        let keyring = Keyring(keys: [key])
        let cache = try #require(DataKeyCache(capacity: 2, maxAgeNanoseconds: Self.minute, now: Clock().read))
        let records = try (0..<3).map { try sealed("v\($0)", key: key) }
        for record in records { _ = try Envelope.open(record, keyring: keyring, context: Fixtures.context, cache: cache) }
        #expect(cache.statistics.keys == 2)
        #expect(cache.slot(of: cacheKey(records[0])) == nil)
        // Its slot now holds the third key, not a trace of the first.
        let reused = try #require(cache.slot(of: cacheKey(records[2])))
        let third = try Envelope.open(records[2], keyring: keyring, context: Fixtures.context, cache: cache)
        #expect(third.unsafeCopiedBytes == Array("v2".utf8))
        #expect(!cache.slotIsZero(reused))
    }

    @Test func droppingAKeyringKeyWipesOnlyTheKeysItWrapped() throws {
        let k1 = try Fixtures.key("k1"), k2 = try Fixtures.key("k2")
        let keyring = Keyring(keys: [k1, k2])
        let cache = try #require(DataKeyCache(capacity: 8, maxAgeNanoseconds: Self.minute, now: Clock().read))
        let a = try sealed("a", key: k1), b = try sealed("b", key: k1), c = try sealed("c", key: k2)
        for record in [a, b, c] { _ = try Envelope.open(record, keyring: keyring, context: Fixtures.context, cache: cache) }
        let slots = try [a, b].map { try #require(cache.slot(of: cacheKey($0))) }
        #expect(cache.drop(keyId: "k1") == 2)
        #expect(slots.allSatisfy { cache.slotIsZero($0) })
        #expect(cache.statistics.keys == 1)
        cache.removeAll()
        #expect(cache.statistics.keys == 0)
        #expect((0..<8).allSatisfy { cache.slotIsZero($0) })
    }

    /// A cached key is no use to a record whose wrap or binding differs: it misses, is
    /// unwrapped, and fails as it would without a cache.
    @Test func alteredRecordsAndOtherContextsStillFail() throws {
        let key = try Fixtures.key("k1")
        let keyring = Keyring(keys: [key])
        let cache = try #require(DataKeyCache(capacity: 8, maxAgeNanoseconds: Self.minute, now: Clock().read))
        let record = try sealed("v", key: key)
        _ = try Envelope.open(record, keyring: keyring, context: Fixtures.context, cache: cache)
        var altered = record
        altered.dataKeyTag[0] ^= 1
        #expect(throws: CryptoError.self) { try Envelope.open(altered, keyring: keyring, context: Fixtures.context, cache: cache) }
        let elsewhere = Array("arn:aws:secretsmanager:us-east-1:111122223333:secret:other-AbCdEf\u{0}v-1".utf8)
        #expect(throws: CryptoError.self) { try Envelope.open(record, keyring: keyring, context: elsewhere, cache: cache) }
        // The value's own tag is checked on a hit too.
        var tampered = record
        tampered.tag[0] ^= 1
        #expect(throws: CryptoError.self) { try Envelope.open(tampered, keyring: keyring, context: Fixtures.context, cache: cache) }
    }

    /// A keyring without the wrapping key (the key withdrawn) opens nothing, cached or not.
    @Test func aKeyringWithoutTheWrappingKeyOpensNothing() throws {
        let key = try Fixtures.key("k1")
        let cache = try #require(DataKeyCache(capacity: 8, maxAgeNanoseconds: Self.minute, now: Clock().read))
        let record = try sealed("v", key: key)
        _ = try Envelope.open(record, keyring: Keyring(keys: [key]), context: Fixtures.context, cache: cache)
        do {
            _ = try Envelope.open(record, keyring: Keyring(keys: [try Fixtures.key("k2")]), context: Fixtures.context, cache: cache)
            Issue.record("opened without its keyring key")
        } catch {
            #expect((error as? CryptoError)?.code == .unknownKey)
        }
    }

    /// Random reads, expiries and drops over many records: every open gives what an open
    /// without a cache gives, and the cache never holds more than its capacity.
    @Test(arguments: 0..<20)
    func openingWithTheCacheIsOpeningWithout(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let keys = try (0..<3).map { try Fixtures.key("k\($0)") }
        let keyring = Keyring(keys: keys)
        let clock = Clock()
        let cache = try #require(DataKeyCache(capacity: 5, maxAgeNanoseconds: Self.minute, now: clock.read))
        let records = try (0..<12).map { n in try sealed("value \(n)", key: keys[n % 3]) }
        for _ in 0..<400 {
            switch rng.next() % 20 {
            case 0: clock.advance(seconds: Double(rng.next() % 90))
            case 1: cache.drop(keyId: "k\(rng.next() % 3)")
            case 2: cache.sweep()
            default:
                let record = records[Int(rng.next() % 12)]
                let cached = try Envelope.open(record, keyring: keyring, context: Fixtures.context, cache: cache)
                let plain = try Envelope.open(record, keyring: keyring, context: Fixtures.context)
                #expect(cached == plain)
            }
            #expect(cache.statistics.keys <= 5)
        }
    }
}
