/*
 * loop.c - the I/O thread's epoll loop (loop.h).
 *
 * Watches live in a small table indexed by fd so that loop_del() can mark
 * an entry dead while epoll_wait() may still hand back its event.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/err.h"
#include "core/xmalloc.h"
#include "kvm/vmm/loop.h"
#include "core/banned.h"

struct watch {
	loop_fn fn;
	void *arg;
	unsigned gen;		/* bumped on every add/del of this fd */
};

struct loop {
	int ep;
	int wake;		/* eventfd: loop_stop() */
	volatile int stop;
	pthread_mutex_t lock;
	struct watch *w;	/* indexed by fd */
	int nw;
};

struct loop *
loop_new(struct sbx_err *e)
{
	struct loop *l = xcalloc(1, sizeof(*l));
	struct epoll_event ev = { .events = EPOLLIN };

	l->ep = epoll_create1(EPOLL_CLOEXEC);
	l->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->ep < 0 || l->wake < 0) {
		sbx_err_sys(e, "cannot create the I/O loop");
		goto fail;
	}
	ev.data.u64 = (uint64_t)-1;
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, l->wake, &ev) < 0) {
		sbx_err_sys(e, "cannot create the I/O loop");
		goto fail;
	}
	pthread_mutex_init(&l->lock, NULL);
	return l;
fail:
	if (l->ep >= 0)
		close(l->ep);
	if (l->wake >= 0)
		close(l->wake);
	free(l);
	return NULL;
}

void
loop_free(struct loop *l)
{
	if (!l)
		return;
	close(l->ep);
	close(l->wake);
	pthread_mutex_destroy(&l->lock);
	free(l->w);
	free(l);
}

int
loop_add(struct loop *l, int fd, uint32_t events, loop_fn fn, void *arg)
{
	struct epoll_event ev = { .events = events };
	unsigned gen;

	if (fd < 0) {
		errno = EBADF;
		return -1;
	}
	pthread_mutex_lock(&l->lock);
	if (fd >= l->nw) {
		int n = fd + 16;

		l->w = xreallocarray(l->w, n, sizeof(*l->w));
		memset(l->w + l->nw, 0, (n - l->nw) * sizeof(*l->w));
		l->nw = n;
	}
	gen = ++l->w[fd].gen;
	l->w[fd].fn = fn;
	l->w[fd].arg = arg;
	pthread_mutex_unlock(&l->lock);
	ev.data.u64 = (uint64_t)fd | (uint64_t)gen << 32;
	return epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev);
}

int
loop_mod(struct loop *l, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events };

	pthread_mutex_lock(&l->lock);
	ev.data.u64 = (uint64_t)fd | (uint64_t)l->w[fd].gen << 32;
	pthread_mutex_unlock(&l->lock);
	return epoll_ctl(l->ep, EPOLL_CTL_MOD, fd, &ev);
}

void
loop_del(struct loop *l, int fd)
{
	if (fd < 0)
		return;
	epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL);
	pthread_mutex_lock(&l->lock);
	if (fd < l->nw) {
		l->w[fd].gen++;
		l->w[fd].fn = NULL;
	}
	pthread_mutex_unlock(&l->lock);
}

int
loop_run(struct loop *l)
{
	struct epoll_event ev[32];
	int n, i;

	while (!l->stop) {
		n = epoll_wait(l->ep, ev, 32, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (i = 0; i < n && !l->stop; i++) {
			int fd = (int)(ev[i].data.u64 & 0xffffffff);
			unsigned gen = ev[i].data.u64 >> 32;
			loop_fn fn = NULL;
			void *arg = NULL;

			if (ev[i].data.u64 == (uint64_t)-1)
				continue;
			pthread_mutex_lock(&l->lock);
			if (fd < l->nw && l->w[fd].gen == gen) {
				fn = l->w[fd].fn;
				arg = l->w[fd].arg;
			}
			pthread_mutex_unlock(&l->lock);
			if (fn)
				fn(arg, ev[i].events);
		}
	}
	return 0;
}

void
loop_stop(struct loop *l)
{
	uint64_t one = 1;
	ssize_t r;

	l->stop = 1;
	r = write(l->wake, &one, sizeof(one));
	(void)r;
}
