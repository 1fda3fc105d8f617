#ifndef STRONGROOM_CSYSTEMSHIMS_H
#define STRONGROOM_CSYSTEMSHIMS_H

// Linux calls that Glibc's Swift module does not expose. No _GNU_SOURCE here (it changes glibc's
// types under Swift's feet); the .c file defines it for itself. epoll_event is a packed struct on
// x86_64, so events cross the boundary as two plain arrays instead.

#include <stdint.h>

int CSystemShims_epoll_create(void);
/// op: 1 add, 2 delete, 3 modify (EPOLL_CTL_*). Returns 0 or -1 with errno.
int CSystemShims_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data);
/// Fills up to max (data, events) pairs. Returns the count or -1 with errno.
int CSystemShims_epoll_wait(int epfd, uint64_t *data, uint32_t *events, int max, int timeout_ms);

uint32_t CSystemShims_EPOLLIN(void);
uint32_t CSystemShims_EPOLLOUT(void);
uint32_t CSystemShims_EPOLLERR(void);
uint32_t CSystemShims_EPOLLHUP(void);
uint32_t CSystemShims_EPOLLRDHUP(void);
uint32_t CSystemShims_EPOLLEXCLUSIVE(void);

/// A non-blocking, close-on-exec eventfd.
int CSystemShims_eventfd(void);
/// posix_spawn_file_actions_addclosefrom_np: the child keeps no descriptor from `lowest` on
/// (a rotation function gets its three pipes and nothing of the node's).
int CSystemShims_spawn_closefrom(void *actions, int lowest);

/// pipe2 with O_CLOEXEC (a rotation function's pipes never leak into another one).
int CSystemShims_pipe_cloexec(int fds[2]);

/// accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC.
int CSystemShims_accept_nonblocking(int fd, void *addr, unsigned int *len);

/// CPUs in the calling thread's affinity mask (sched_getaffinity), or the online count.
int CSystemShims_available_cpus(void);

/// fallocate(2) with FALLOC_FL_KEEP_SIZE: allocates [offset, offset + length) without changing
/// the file size. Returns 0 or -1 with errno (EOPNOTSUPP where the filesystem cannot).
int CSystemShims_fallocate_keep_size(int fd, int64_t offset, int64_t length);

/// Names the calling thread (Linux keeps 15 bytes).
void CSystemShims_set_thread_name(const char *name);

/// 1 when the CPU has the SSE 4.2 CRC32 instruction (x86_64), else 0.
int CSystemShims_crc32c_hardware(void);
/// Feeds `count` bytes to a raw (not inverted) CRC-32C register with the CRC32 instruction.
/// Call only when CSystemShims_crc32c_hardware() is 1.
uint32_t CSystemShims_crc32c_update(uint32_t crc, const void *bytes, uint64_t count);

#endif
