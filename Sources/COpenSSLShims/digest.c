// SHA-256 and HMAC-SHA256 without OpenSSL 3's per-call algorithm fetch.
//
// OpenSSL 3's one-shot SHA256() and HMAC() look the algorithm up in the provider store on
// every call (EVP_Q_digest / EVP_Q_mac: a hash-table lookup under a lock, parameter arrays,
// allocations); on this machine that overhead was most of libcrypto's share of a request. The
// low-level SHA256_* functions, deprecated but present in every OpenSSL 3 release, hash with the
// same assembly directly. HMAC (RFC 2104) is built on them here and checked against RFC 4231's
// vectors and OpenSSL's own HMAC() in the tests.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>
#include <openssl/crypto.h>
#include <string.h>
#include "COpenSSLShims.h"

void COpenSSLShims_sha256(const void *data, size_t count, unsigned char *out) {
    SHA256_CTX context;
    SHA256_Init(&context);
    SHA256_Update(&context, data, count);
    SHA256_Final(out, &context);
    OPENSSL_cleanse(&context, sizeof context);
}

void COpenSSLShims_hmac_sha256(const void *key, size_t keyCount, const void *message, size_t messageCount,
                               unsigned char *out) {
    enum { block = 64 };
    unsigned char keyBlock[block];
    unsigned char pad[block];
    unsigned char inner[SHA256_DIGEST_LENGTH];
    SHA256_CTX context;

    memset(keyBlock, 0, sizeof keyBlock);
    if (keyCount > block) {
        COpenSSLShims_sha256(key, keyCount, keyBlock);
    } else if (keyCount > 0) {
        memcpy(keyBlock, key, keyCount);
    }

    for (int i = 0; i < block; i++) pad[i] = keyBlock[i] ^ 0x36;
    SHA256_Init(&context);
    SHA256_Update(&context, pad, block);
    SHA256_Update(&context, message, messageCount);
    SHA256_Final(inner, &context);

    for (int i = 0; i < block; i++) pad[i] = keyBlock[i] ^ 0x5c;
    SHA256_Init(&context);
    SHA256_Update(&context, pad, block);
    SHA256_Update(&context, inner, sizeof inner);
    SHA256_Final(out, &context);

    OPENSSL_cleanse(keyBlock, sizeof keyBlock);
    OPENSSL_cleanse(pad, sizeof pad);
    OPENSSL_cleanse(inner, sizeof inner);
    OPENSSL_cleanse(&context, sizeof context);
}
