/*
 * progress.h - a one-line progress meter for long operations (image
 * builds, downloads, snapshot writes), drawn on stderr.
 *
 * On a terminal it redraws one line at most every 100 ms:
 *
 *	kernel  42% [########            ] 215M/512M  48.2M/s  ETA 6s
 *
 * or, with no total, "step 2/3  14K  1.2K/s  12s", and ends with a
 * summary line ("kernel: 512M in 10.6s (48.3M/s)").
 * When the fd is not a terminal it prints nothing, or only the summary
 * with SBX_PROGRESS_VERBOSE. SBX_PROGRESS_QUIET (-q) silences it fully.
 *
 * Every function accepts NULL for `p` and does nothing then, so callers
 * may pass an optional meter down without checks. A meter is used by one
 * thread. Nothing here fails: a write error just stops the drawing.
 */
#ifndef SBX_CORE_PROGRESS_H
#define SBX_CORE_PROGRESS_H

#include <stdint.h>

struct sbx_progress;

enum {
	SBX_PROGRESS_QUIET = 1,		/* draw nothing at all */
	SBX_PROGRESS_VERBOSE = 2,	/* not a TTY: print the summary */
	SBX_PROGRESS_FORCE_TTY = 4,	/* draw as if fd were a TTY (tests) */
	SBX_PROGRESS_COUNT = 8,		/* items, not bytes: no size units */
};

#define SBX_PROGRESS_INTERVAL_MS 100

/*
 * Starts a meter for `label` on fd 2 (or `fd`). `total` 0 means unknown
 * (no percentage, bar or ETA). The label is copied.
 */
struct sbx_progress *sbx_progress_start(const char *label, uint64_t total,
    unsigned flags);
struct sbx_progress *sbx_progress_start_fd(int fd, const char *label,
    uint64_t total, unsigned flags);
/* Sets the amount done so far / adds to it; redraws if 100 ms passed. */
void sbx_progress_update(struct sbx_progress *p, uint64_t done);
void sbx_progress_add(struct sbx_progress *p, uint64_t n);
void sbx_progress_set_total(struct sbx_progress *p, uint64_t total);
/*
 * Writes other output (a build step's, say) on the meter's fd: on a
 * terminal, complete lines go out above the meter, which is redrawn under
 * them, and an unfinished last line is held back until its newline comes
 * (or 4 KiB of it, or finish/abort); elsewhere, or with
 * SBX_PROGRESS_QUIET, the bytes go out unchanged. NULL `p`: nothing.
 * Calling sbx_progress_update with the same amount redraws the elapsed
 * time of a meter without a total.
 */
void sbx_progress_print(struct sbx_progress *p, const char *buf, size_t len);
/* Prints the summary line (see above) and frees the meter. */
void sbx_progress_finish(struct sbx_progress *p);
/* Erases the meter's line (an error message follows) and frees it. */
void sbx_progress_abort(struct sbx_progress *p);

#endif
