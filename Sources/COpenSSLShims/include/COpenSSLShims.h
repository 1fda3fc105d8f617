#ifndef STRONGROOM_COPENSSLSHIMS_H
#define STRONGROOM_COPENSSLSHIMS_H

// One function per OpenSSL macro that Swift's importer cannot see. Keep this list the only place
// where such macros are wrapped, so that it can be audited in one read.

#include <stddef.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

int COpenSSLShims_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version);
int COpenSSLShims_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version);
long COpenSSLShims_SSL_CTX_set_mode(SSL_CTX *ctx, long mode);
long COpenSSLShims_SSL_set_mode(SSL *ssl, long mode);
long COpenSSLShims_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode);
int COpenSSLShims_SSL_CTX_set1_groups_list(SSL_CTX *ctx, const char *list);
long COpenSSLShims_SSL_CTX_add_extra_chain_cert(SSL_CTX *ctx, X509 *cert);
uint64_t COpenSSLShims_SSL_OP_NO_RENEGOTIATION(void);
uint64_t COpenSSLShims_SSL_OP_CIPHER_SERVER_PREFERENCE(void);
uint64_t COpenSSLShims_SSL_OP_NO_COMPRESSION(void);
int COpenSSLShims_sk_X509_num(const STACK_OF(X509) *stack);
X509 *COpenSSLShims_sk_X509_value(const STACK_OF(X509) *stack, int index);
void COpenSSLShims_OPENSSL_free(void *pointer);

// TLS module: SNI and the stack of subjectAltName entries.
int COpenSSLShims_SSL_set_tlsext_host_name(SSL *ssl, const char *name);
STACK_OF(GENERAL_NAME) *COpenSSLShims_sk_GENERAL_NAME_new_null(void);
int COpenSSLShims_sk_GENERAL_NAME_push(STACK_OF(GENERAL_NAME) *stack, GENERAL_NAME *name);
int COpenSSLShims_sk_GENERAL_NAME_num(const STACK_OF(GENERAL_NAME) *stack);
GENERAL_NAME *COpenSSLShims_sk_GENERAL_NAME_value(const STACK_OF(GENERAL_NAME) *stack, int index);

/// SHA-256 of `count` bytes into `out` (32 bytes), without OpenSSL 3's per-call fetch.
void COpenSSLShims_sha256(const void *data, size_t count, unsigned char *out);
/// HMAC-SHA256 (RFC 2104) into `out` (32 bytes), without OpenSSL 3's per-call fetch.
void COpenSSLShims_hmac_sha256(const void *key, size_t keyCount, const void *message, size_t messageCount,
                               unsigned char *out);

// Locked memory (libc, not OpenSSL: kept here so that key material's whole life is in one
// audited place). `size` bytes of anonymous pages locked in RAM (mlock: never swapped), left out
// of core dumps (MADV_DONTDUMP) and of forked children (MADV_DONTFORK); NULL when they cannot be
// locked (RLIMIT_MEMLOCK). Freed by `locked_free`, which zeroises them with OPENSSL_cleanse first.
void *COpenSSLShims_locked_alloc(size_t size);
void COpenSSLShims_locked_free(void *pages, size_t size);
/// OPENSSL_cleanse: zeroes that the compiler may not remove.
void COpenSSLShims_cleanse(void *bytes, size_t size);

#endif
