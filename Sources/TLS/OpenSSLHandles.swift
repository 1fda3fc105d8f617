internal import COpenSSL
import Cryptography

// Owners of the libcrypto objects this module creates. Every OpenSSL pointer arrives in Swift as
// the same `OpaquePointer`; a distinct ~Copyable type per kind keeps them from being mixed up and
// frees each exactly once. Each owner holds one reference: when OpenSSL must keep an object
// beyond the owner's life, the code hands it an extra reference (`X509_up_ref`) or uses the
// "set1"/"add1" functions that take their own.

/// One reference to an `X509`.
struct X509Handle: ~Copyable {
    let pointer: OpaquePointer

    init(taking pointer: OpaquePointer) { self.pointer = pointer }

    /// A new certificate object, version 3.
    static func make() throws(TLSError) -> X509Handle {
        guard let pointer = X509_new() else {
            throw .drainingOpenSSL(.certificateGeneration, "X509_new failed")
        }
        return X509Handle(taking: pointer)
    }

    /// A second reference to the same certificate, for APIs that take ownership.
    func newReference() -> OpaquePointer {
        precondition(X509_up_ref(pointer) == 1, "X509_up_ref cannot fail on a live certificate")
        return pointer
    }

    consuming func close() {}

    deinit { X509_free(pointer) }
}

/// One reference to an `EVP_PKEY` (a private key, or a public key taken from a certificate).
struct PrivateKeyHandle: ~Copyable {
    let pointer: OpaquePointer

    init(taking pointer: OpaquePointer) { self.pointer = pointer }

    /// A fresh ECDSA key on NIST P-256 from OpenSSL's CSPRNG.
    static func generateP256() throws(TLSError) -> PrivateKeyHandle {
        OpenSSLErrorQueue.clear()
        guard let context = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else {
            throw .drainingOpenSSL(.certificateGeneration, "cannot create an EC key generation context")
        }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_keygen_init(context) == 1, EVP_PKEY_CTX_set_group_name(context, "P-256") == 1 else {
            throw .drainingOpenSSL(.certificateGeneration, "cannot set up P-256 key generation")
        }
        var key: OpaquePointer?
        guard EVP_PKEY_generate(context, &key) == 1, let key else {
            throw .drainingOpenSSL(.certificateGeneration, "P-256 key generation failed")
        }
        return PrivateKeyHandle(taking: key)
    }

    consuming func close() {}

    deinit { EVP_PKEY_free(pointer) }
}

/// One `BIO`.
struct BIOHandle: ~Copyable {
    let pointer: OpaquePointer

    init(taking pointer: OpaquePointer) { self.pointer = pointer }

    /// An empty memory BIO that zeroises its buffer when freed (`BIO_s_secmem`), for PEM output
    /// that holds a private key.
    static func secureMemory() throws(TLSError) -> BIOHandle {
        guard let pointer = BIO_new(BIO_s_secmem()) else {
            throw .drainingOpenSSL(.certificateGeneration, "BIO_new failed")
        }
        return BIOHandle(taking: pointer)
    }

    /// Everything written to a memory BIO so far, consuming it.
    func readAll() -> [UInt8] {
        var out: [UInt8] = []
        while true {
            let pending = BIO_ctrl_pending(pointer)
            if pending == 0 { return out }
            let start = out.count
            out.append(contentsOf: repeatElement(0, count: pending))
            let read = out.withUnsafeMutableBytes { raw in
                BIO_read(pointer, raw.baseAddress! + start, Int32(clamping: pending))
            }
            precondition(read > 0, "a memory BIO with pending bytes must return them")
            out.removeLast(pending - Int(read))
        }
    }

    consuming func close() {}

    deinit { BIO_free(pointer) }
}

/// A read-only memory BIO over bytes the caller keeps alive (no copy of key material is made).
func withReadOnlyBIO<R>(
    over bytes: UnsafeRawBufferPointer,
    _ body: (OpaquePointer) throws(TLSError) -> R
) throws(TLSError) -> R {
    guard let base = bytes.baseAddress, let bio = BIO_new_mem_buf(base, Int32(clamping: bytes.count)) else {
        // An empty input reads as "no PEM" below; give it a valid empty BIO.
        guard let bio = BIO_new(BIO_s_mem()) else { throw .drainingOpenSSL(.configuration, "BIO_new failed") }
        defer { BIO_free(bio) }
        return try body(bio)
    }
    defer { BIO_free(bio) }
    return try body(bio)
}

/// PEM passwords are never prompted for: a key that needs one fails to load instead of blocking
/// on the terminal, which is what OpenSSL's default callback would do.
let refusePassword: @convention(c) (
    UnsafeMutablePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?
) -> Int32 = { _, _, _, _ in -1 }
