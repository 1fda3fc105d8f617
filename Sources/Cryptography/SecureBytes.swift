internal import COpenSSL

/// Bytes that hold key material or plaintext secret values.
///
/// The storage is zeroised with `OPENSSL_cleanse` when the last reference goes away, equality is
/// constant-time, and `description` never prints the contents: a `SecureBytes` that reaches a log
/// line or an error message shows only its length.
public struct SecureBytes: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    // Safety: the buffer is only mutated while uniquely referenced (copy-on-write below), so
    // sharing it between threads as an immutable value is sound.
    private final class Storage: @unchecked Sendable {
        var bytes: [UInt8]
        init(_ bytes: [UInt8]) { self.bytes = bytes }
        deinit {
            bytes.withUnsafeMutableBytes { raw in
                if let base = raw.baseAddress { OPENSSL_cleanse(base, raw.count) }
            }
        }
    }

    private var storage: Storage

    /// Takes ownership of `bytes`; the caller should not keep other copies of them.
    public init(_ bytes: [UInt8]) { storage = Storage(bytes) }

    /// `count` cryptographically secure random bytes.
    public init(randomCount count: Int) throws(CryptoError) {
        storage = Storage(try Random.bytes(count))
    }

    public var count: Int { storage.bytes.count }
    public var isEmpty: Bool { storage.bytes.isEmpty }

    /// Gives the closure read access to the bytes without copying them out.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        // `withUnsafeBytes` on Array rethrows untyped errors; bridge to the typed error.
        var result: Result<R, E>!
        storage.bytes.withUnsafeBytes { raw in
            do { result = .success(try body(raw)) } catch let error as E { result = .failure(error) } catch {
                preconditionFailure("unreachable: typed throw")
            }
        }
        return try result.get()
    }

    /// Zeroes `count` bytes at `base` in a way the compiler may not remove (OPENSSL_cleanse), for
    /// scratch buffers that held secrets.
    static func cleanse(_ base: UnsafeMutableRawPointer, _ count: Int) {
        OPENSSL_cleanse(base, count)
    }

    /// A plain copy of the bytes, for handing to code that needs an array (for example a test).
    public var unsafeCopiedBytes: [UInt8] { storage.bytes }

    public static func == (lhs: SecureBytes, rhs: SecureBytes) -> Bool {
        ConstantTime.equals(lhs.storage.bytes, rhs.storage.bytes)
    }

    public var description: String { "SecureBytes(\(count) bytes)" }
    public var debugDescription: String { description }
    /// No children: without this, `dump` and debuggers would walk into the storage and print
    /// every byte.
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
