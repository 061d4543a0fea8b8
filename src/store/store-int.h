/*
 * store-int.h - private to src/store: the store handle and lock helpers.
 */
#ifndef SBX_STORE_STORE_INT_H
#define SBX_STORE_STORE_INT_H

#include "store/store.h"

enum store_lock_state {
	STORE_UNLOCKED = 0,
	STORE_SHARED,
	STORE_EXCLUSIVE,
};

struct sbx_store {
	char *home;
	char *tmpdir;		/* $SBX_HOME/tmp */
	int lock_fd;		/* $SBX_HOME/lock, open for the handle's life */
	enum store_lock_state lock_state;
	unsigned lock_timeout_ms;
};

/*
 * flock(fd, op) retried with LOCK_NB every few milliseconds for up to
 * timeout_ms. Returns 0, -EWOULDBLOCK on timeout, or -errno.
 */
int store_flock_wait(int fd, int op, unsigned timeout_ms);

/*
 * For writes that only add references (refs, sandbox.json): takes the
 * shared store lock if `s` does not hold it and sets *taken, so that
 * store_write_leave() drops it again afterwards. A lock held because of
 * earlier puts stays held (sticky) until sbx_store_write_done().
 */
int store_write_enter(struct sbx_store *s, int *taken, struct sbx_err *e);
void store_write_leave(struct sbx_store *s, int taken);

/* objects/<2 hex> directory of an id, newly allocated. */
char *store_fanout_path(const struct sbx_store *s, const struct sbx_oid *id);

#endif
