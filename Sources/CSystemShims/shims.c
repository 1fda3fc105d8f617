#define _GNU_SOURCE
#include "CSystemShims.h"
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>
#include <spawn.h>
#include <string.h>

int CSystemShims_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int CSystemShims_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &ev);
}

int CSystemShims_epoll_wait(int epfd, uint64_t *data, uint32_t *events, int max, int timeout_ms) {
    struct epoll_event evs[256];
    if (max > 256) max = 256;
    int n = epoll_wait(epfd, evs, max, timeout_ms);
    for (int i = 0; i < n; i++) {
        data[i] = evs[i].data.u64;
        events[i] = evs[i].events;
    }
    return n;
}

uint32_t CSystemShims_EPOLLIN(void) { return EPOLLIN; }
uint32_t CSystemShims_EPOLLOUT(void) { return EPOLLOUT; }
uint32_t CSystemShims_EPOLLERR(void) { return EPOLLERR; }
uint32_t CSystemShims_EPOLLHUP(void) { return EPOLLHUP; }
uint32_t CSystemShims_EPOLLRDHUP(void) { return EPOLLRDHUP; }
uint32_t CSystemShims_EPOLLEXCLUSIVE(void) { return EPOLLEXCLUSIVE; }

int CSystemShims_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

int CSystemShims_accept_nonblocking(int fd, void *addr, unsigned int *len) {
    return accept4(fd, (struct sockaddr *)addr, (socklen_t *)len, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

void CSystemShims_set_thread_name(const char *name) {
    char shortName[16];
    strncpy(shortName, name, 15);
    shortName[15] = 0;
    pthread_setname_np(pthread_self(), shortName);
}

int CSystemShims_available_cpus(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? (int)online : 1;
}

int CSystemShims_fallocate_keep_size(int fd, int64_t offset, int64_t length) {
    return fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)length);
}

#if defined(__x86_64__)
int CSystemShims_crc32c_hardware(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") ? 1 : 0;
}

__attribute__((target("sse4.2")))
uint32_t CSystemShims_crc32c_update(uint32_t crc, const void *bytes, uint64_t count) {
    const unsigned char *p = bytes;
    uint64_t c = crc;
    while (count >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        c = __builtin_ia32_crc32di(c, word);
        p += 8;
        count -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (count > 0) {
        c32 = __builtin_ia32_crc32qi(c32, *p);
        p += 1;
        count -= 1;
    }
    return c32;
}
#else
int CSystemShims_crc32c_hardware(void) { return 0; }
uint32_t CSystemShims_crc32c_update(uint32_t crc, const void *bytes, uint64_t count) {
    (void)bytes; (void)count;
    return crc;
}
#endif

int CSystemShims_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int CSystemShims_spawn_closefrom(void *actions, int lowest) {
    return posix_spawn_file_actions_addclosefrom_np((posix_spawn_file_actions_t *)actions, lowest);
}
