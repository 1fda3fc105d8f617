internal import COpenSSLShims
import Synchronization

/// Unwrapped data keys of recently opened values, so that reading a version again skips the
/// keyring's AES-GCM unwrap (as the AWS Encryption SDK's caching materials manager does for KMS).
///
/// What keeps the secrets as safe as without it:
/// - **Where the keys are.** In one block of anonymous pages locked in RAM (mlock: never in
///   swap), left out of core dumps (MADV_DONTDUMP) and of forked children (MADV_DONTFORK). A slot
///   is zeroised (OPENSSL_cleanse) when its key is evicted, expires or is dropped, and the whole
///   block when the cache goes. When the pages cannot be locked there is no cache (`init`
///   returns nil) rather than keys in ordinary memory.
/// - **How long.** A key is used for at most `maxAgeNanoseconds` after it was unwrapped, then
///   wiped (on its next lookup, or by `sweep`, which the node runs every few seconds); at most
///   `capacity` keys are held, the oldest wiped first.
/// - **Which keys.** An entry is found only by everything the unwrap authenticated: the keyring
///   key's id, the wrap's nonce, ciphertext and tag, and the context (ARN and VersionId) the value
///   is bound to. A record whose wrap or binding differs in one byte misses and is unwrapped,
///   and fails, as before. The caller still checks that the keyring holds the wrapping key
///   (`Envelope.open`), and `drop(keyId:)` wipes every key a keyring key wrapped, for when that
///   key is rotated or withdrawn.
/// - The value itself is still authenticated by its own AES-GCM tag on every read.
public final class DataKeyCache: Sendable {
    /// What identifies one unwrap.
    struct Key: Hashable, Sendable {
        var keyId: String
        var wrap: [UInt8]
        var context: [UInt8]
    }

    struct Entry: Sendable {
        var slot: Int
        var unwrappedAt: UInt64
    }

    struct State: Sendable {
        var entries: [Key: Entry] = [:]
        /// The key in each slot, for eviction.
        var occupants: [Key?]
        /// The slot the next key goes into (first in, first out).
        var next = 0
        var hits: UInt64 = 0
        var misses: UInt64 = 0
    }

    /// The default bound: 4,096 keys, 128 KiB of locked memory.
    public static let defaultCapacity = 4096
    /// The default age after which a key is unwrapped again: five minutes (the AWS Encryption
    /// SDK's examples use minutes; Vault's transit cache has no age at all).
    public static let defaultMaxAgeSeconds = 300.0

    public let capacity: Int
    public let maxAgeNanoseconds: UInt64
    private let slab: LockedSlab
    private let state: Mutex<State>
    private let now: @Sendable () -> UInt64

    /// - Parameters:
    ///   - capacity: keys held at most (1…1,048,576).
    ///   - maxAgeNanoseconds: a key unwrapped longer ago than this is wiped instead of used.
    ///   - now: a monotonic clock in nanoseconds.
    /// - Returns: nil when the memory cannot be locked (RLIMIT_MEMLOCK too small).
    public init?(capacity: Int = DataKeyCache.defaultCapacity, maxAgeNanoseconds: UInt64, now: @escaping @Sendable () -> UInt64) {
        precondition((1...1 << 20).contains(capacity), "a data key cache of \(capacity) keys")
        guard let slab = LockedSlab(byteCount: capacity * AESGCM.keyByteCount) else { return nil }
        self.capacity = capacity
        self.maxAgeNanoseconds = maxAgeNanoseconds
        self.slab = slab
        self.now = now
        state = Mutex(State(occupants: Array(repeating: nil, count: capacity)))
    }

    /// Counters for status pages and tests.
    public struct Statistics: Sendable, Equatable {
        public var hits: UInt64
        public var misses: UInt64
        public var keys: Int
    }

    public var statistics: Statistics {
        state.withLock { Statistics(hits: $0.hits, misses: $0.misses, keys: $0.entries.count) }
    }

    /// A copy of the cached key for `key` (a `SecureBytes`, zeroised when released, as a freshly
    /// unwrapped key is), or nil when there is none or it is too old (then it is wiped).
    func lookup(_ key: Key) -> SecureBytes? {
        let time = now()
        return state.withLock { state -> SecureBytes? in
            guard let entry = state.entries[key] else {
                state.misses += 1
                return nil
            }
            guard time &- entry.unwrappedAt <= maxAgeNanoseconds else {
                wipe(entry.slot, &state)
                state.misses += 1
                return nil
            }
            state.hits += 1
            return SecureBytes(slab.read(slot: entry.slot, count: AESGCM.keyByteCount))
        }
    }

    /// Keeps `dataKey` (32 bytes) for `key`, evicting the oldest key when full.
    func insert(_ key: Key, dataKey: SecureBytes) {
        precondition(dataKey.count == AESGCM.keyByteCount, "a data key of \(dataKey.count) bytes")
        let time = now()
        state.withLock { state in
            if let existing = state.entries[key] { wipe(existing.slot, &state) }
            let slot = state.next
            state.next = (slot + 1) % capacity
            if state.occupants[slot] != nil { wipe(slot, &state) }
            dataKey.withUnsafeBytes { slab.write(slot: slot, $0) }
            state.occupants[slot] = key
            state.entries[key] = Entry(slot: slot, unwrappedAt: time)
        }
    }

    /// Wipes every key older than the age limit. Returns how many.
    @discardableResult
    public func sweep() -> Int {
        let time = now()
        return state.withLock { state in
            let old = state.entries.filter { time &- $0.value.unwrappedAt > maxAgeNanoseconds }
            for entry in old.values { wipe(entry.slot, &state) }
            return old.count
        }
    }

    /// Wipes every key that the keyring key `keyId` wrapped (that key is being rotated or
    /// withdrawn). Returns how many.
    @discardableResult
    public func drop(keyId: String) -> Int {
        state.withLock { state in
            let matching = state.entries.filter { $0.key.keyId == keyId }
            for entry in matching.values { wipe(entry.slot, &state) }
            return matching.count
        }
    }

    /// Wipes every key.
    public func removeAll() {
        state.withLock { state in
            for entry in Array(state.entries.values) { wipe(entry.slot, &state) }
        }
    }

    /// Zeroises `slot` and forgets its key.
    private func wipe(_ slot: Int, _ state: inout State) {
        if let key = state.occupants[slot] { state.entries[key] = nil }
        state.occupants[slot] = nil
        slab.zero(slot: slot, count: AESGCM.keyByteCount)
    }

    /// Test access: whether the slot's bytes are all zero (a wiped key leaves nothing).
    func slotIsZero(_ slot: Int) -> Bool {
        slab.read(slot: slot, count: AESGCM.keyByteCount).allSatisfy { $0 == 0 }
    }

    /// Test access: the slot a key occupies.
    func slot(of key: Key) -> Int? {
        state.withLock { $0.entries[key]?.slot }
    }
}

/// A block of locked, undumpable pages, zeroised and unmapped when released.
final class LockedSlab: Sendable {
    // Safety: the pages are read and written only under DataKeyCache's mutex, and the pointer
    // itself never changes after init.
    nonisolated(unsafe) private let base: UnsafeMutableRawPointer
    let byteCount: Int

    init?(byteCount: Int) {
        guard let pages = COpenSSLShims_locked_alloc(byteCount) else { return nil }
        base = pages
        self.byteCount = byteCount
    }

    deinit { COpenSSLShims_locked_free(base, byteCount) }

    func read(slot: Int, count: Int) -> [UInt8] {
        [UInt8](UnsafeRawBufferPointer(start: base + slot * count, count: count))
    }

    func write(slot: Int, _ bytes: UnsafeRawBufferPointer) {
        precondition((slot + 1) * bytes.count <= byteCount, "slot \(slot) past the slab")
        (base + slot * bytes.count).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
    }

    func zero(slot: Int, count: Int) {
        COpenSSLShims_cleanse(base + slot * count, count)
    }
}
