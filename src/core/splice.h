/*
 * splice.h - copying bytes both ways between two connected sockets (the
 * port proxy of `sbx serve`, `sbx --remote port`).
 */
#ifndef SBX_CORE_SPLICE_H
#define SBX_CORE_SPLICE_H

/*
 * Copies what arrives on `a` to `b` and back until both directions have
 * ended: an EOF on one side is passed on as shutdown(SHUT_WR) of the
 * other; an error on either side ends both. Works with blocking and
 * non-blocking sockets. `stop` (may be NULL) is read atomically every
 * 250 ms; non-zero ends the copy. `idle_ms` (0: never) ends it when no
 * byte has moved either way for that long. The caller closes the sockets.
 * Returns 1 if the copy ended for being idle, else 0.
 */
int sbx_fd_splice(int a, int b, const int *stop, unsigned idle_ms);

#endif
