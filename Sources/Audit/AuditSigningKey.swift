public import Cryptography
import Platform

/// The key that signs sealed trail files: 32 random bytes in a file of its own
/// (`DATA_DIR/audit-signing.key`, mode 0600), so that the node and `strongroom audit verify` use
/// the same key.
///
/// Whoever can read the key can forge signatures; whoever can replace it makes every existing
/// signature fail to verify (which `verify` reports). Keep it out of backups of the audit
/// directory, or the backup alone is enough to rewrite history.
public enum AuditSigningKey {
    /// The key length in bytes.
    public static let byteCount = 32

    /// Reads the key at `path`, creating it with fresh random bytes (mode 0600, fsynced with its
    /// directory) when the file does not exist.
    ///
    /// Creation is not safe against a second process creating the same file at the same moment;
    /// the node holds its data directory's lock while it calls this.
    /// - Throws: `.signingKey` when the file exists but is unreadable, not 32 bytes, or readable
    ///   or writable by group or others; `.io` when creating it fails.
    public static func loadOrCreate(path: String) throws(AuditError) -> SecureBytes {
        if Files.exists(path) { return try load(path: path) }
        let key: SecureBytes
        do {
            key = try SecureBytes(randomCount: byteCount)
        } catch {
            throw AuditError(.signingKey, path: path, "\(path): cannot generate a signing key: \(error)")
        }
        do {
            try Files.writeAtomically(key.unsafeCopiedBytes, to: path, mode: 0o600)
        } catch {
            throw AuditError.from(error, path: path, "cannot create the audit signing key")
        }
        return try load(path: path)
    }

    /// Reads the key at `path` without ever creating it (for `strongroom audit verify`).
    /// - Throws: `.signingKey` when it is missing, unreadable, not 32 bytes, or accessible to
    ///   group or others.
    public static func load(path: String) throws(AuditError) -> SecureBytes {
        let mode: UInt32?
        do {
            mode = try Files.permissions(of: path)
        } catch {
            throw AuditError(.signingKey, path: path, errno: error.code, "\(path): cannot read the audit signing key: \(error)")
        }
        guard let mode else { throw AuditError(.signingKey, path: path, "\(path): the audit signing key is missing") }
        if let violation = Files.ownerOnlyViolation(mode: mode) {
            throw AuditError(.signingKey, path: path, "\(path): the audit signing key \(violation) (chmod 600 \(path))")
        }
        let bytes: [UInt8]
        do {
            bytes = try Files.readContents(of: path, limit: byteCount + 1)
        } catch {
            throw AuditError(.signingKey, path: path, errno: error.code, "\(path): cannot read the audit signing key: \(error)")
        }
        guard bytes.count == byteCount else {
            throw AuditError(.signingKey, path: path, "\(path): the audit signing key is \(bytes.count) bytes, not \(byteCount)")
        }
        return SecureBytes(bytes)
    }
}
