#define _GNU_SOURCE
#include "COpenSSLShims.h"
#include <sys/mman.h>
#include <openssl/crypto.h>

void *COpenSSLShims_locked_alloc(size_t size) {
    void *pages = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pages == MAP_FAILED) return NULL;
    if (mlock(pages, size) != 0) {
        munmap(pages, size);
        return NULL;
    }
    // Never in a core file, never in a child's copy of this process.
    (void)madvise(pages, size, MADV_DONTDUMP);
    (void)madvise(pages, size, MADV_DONTFORK);
    return pages;
}

void COpenSSLShims_locked_free(void *pages, size_t size) {
    if (pages == NULL) return;
    OPENSSL_cleanse(pages, size);
    munlock(pages, size);
    munmap(pages, size);
}

void COpenSSLShims_cleanse(void *bytes, size_t size) {
    OPENSSL_cleanse(bytes, size);
}
