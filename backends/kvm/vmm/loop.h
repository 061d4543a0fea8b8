/*
 * loop.h - the VMM's I/O thread: one epoll loop for eventfds (virtqueue
 * notifications through ioeventfd), the console, the control socket and
 * device backends (vsock unix sockets, ...).
 *
 * Threads: loop_add()/loop_mod()/loop_del() may be called from any thread
 * (epoll is thread-safe); callbacks run on the I/O thread only, one at a
 * time. A callback may add or delete watches, including its own.
 */
#ifndef SBX_KVM_VMM_LOOP_H
#define SBX_KVM_VMM_LOOP_H

#include <stdint.h>

struct sbx_err;
struct loop;

/* Called with the epoll event bits (EPOLLIN, EPOLLHUP, ...). */
typedef void (*loop_fn)(void *arg, uint32_t events);

struct loop *loop_new(struct sbx_err *e);
/* Frees the loop; the caller closes the watched fds itself. */
void loop_free(struct loop *l);

/* Watches `fd` for `events` (EPOLLIN, EPOLLOUT...). 0 or -1 with errno. */
int loop_add(struct loop *l, int fd, uint32_t events, loop_fn fn, void *arg);
int loop_mod(struct loop *l, int fd, uint32_t events);
/* Stops watching fd; no callback for it runs after this returns on the
 * I/O thread (from another thread, one already running may finish). */
void loop_del(struct loop *l, int fd);

/* Runs until loop_stop(); returns 0, or -1 with errno on epoll failure. */
int loop_run(struct loop *l);
/* Makes loop_run() return; any thread, async-signal-safe. */
void loop_stop(struct loop *l);

#endif
