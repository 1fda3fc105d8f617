public import Cryptography
import Synchronization

extension SigV4 {
    /// Signing keys already derived, by access key and scope: the four HMACs of
    /// `signingKey(secretAccessKey:scope:)` are done once per key and day instead of once per
    /// request (a fifth of the SHA-256 blocks a GetSecretValue hashes; issue 22).
    ///
    /// An entry is used only when the secret it was derived from equals (in constant time) the
    /// secret the caller's credentials have now, so a key rotated or reloaded (SIGHUP) is never
    /// matched by an old derivation. Keys and secrets are held as `SecureBytes` (wiped when
    /// dropped); the cache is bounded and emptied whole when full (an entry is only good for
    /// its scope's day anyway).
    public final class SigningKeyCache: Sendable {
        public static let defaultCapacity = 4096

        private struct Entry: Sendable {
            var secret: SecureBytes
            var key: SecureBytes
        }

        private let entries = Mutex<[String: Entry]>([:])
        private let capacity: Int

        public init(capacity: Int = SigningKeyCache.defaultCapacity) {
            precondition(capacity > 0, "a cache with room")
            self.capacity = capacity
        }

        /// The signing key for `secretAccessKey` of `accessKeyId` in `scope`, derived at most
        /// once while it stays cached.
        public func signingKey(accessKeyId: String, secretAccessKey: SecureBytes, scope: Scope) -> SecureBytes {
            let name = accessKeyId + "/" + scope.date + "/" + scope.region + "/" + scope.service
            if let entry = entries.withLock({ $0[name] }), entry.secret == secretAccessKey {
                return entry.key
            }
            let key = SigV4.signingKey(secretAccessKey: secretAccessKey, scope: scope)
            entries.withLock { entries in
                if entries.count >= capacity { entries.removeAll() }
                entries[name] = Entry(secret: secretAccessKey, key: key)
            }
            return key
        }

        /// Entries held (for tests).
        public var count: Int { entries.withLock { $0.count } }
    }
}
