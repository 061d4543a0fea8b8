/*
 * term.h - the host terminal for interactive sessions (`exec -t`, `shell`).
 */
#ifndef SBX_CLI_TERM_H
#define SBX_CLI_TERM_H

/*
 * Puts the terminal on `fd` into raw mode, remembering the old settings;
 * returns 0, or -1 when fd is not a terminal. Restored by term_restore,
 * which is also registered with atexit and safe to call twice.
 */
int term_raw(int fd);
void term_restore(void);

/* Current size of the terminal on `fd`; 24x80 when unknown. */
void term_size(int fd, unsigned *rows, unsigned *cols);

/*
 * Installs a SIGWINCH handler writing to a self-pipe; returns the pipe's
 * read end (readable after each resize) or -1.
 */
int term_winch_fd(void);

#endif
