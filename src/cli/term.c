/*
 * term.c - raw mode and window-size tracking for PTY sessions.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "cli/term.h"
#include "core/banned.h"

static struct termios saved;
static int saved_fd = -1;
static int winch_pipe[2] = { -1, -1 };

void
term_restore(void)
{
	if (saved_fd < 0)
		return;
	tcsetattr(saved_fd, TCSAFLUSH, &saved);
	saved_fd = -1;
}

int
term_raw(int fd)
{
	struct termios t;
	static int registered;

	if (!isatty(fd) || tcgetattr(fd, &saved) < 0)
		return -1;
	t = saved;
	cfmakeraw(&t);
	if (tcsetattr(fd, TCSAFLUSH, &t) < 0)
		return -1;
	saved_fd = fd;
	if (!registered) {
		atexit(term_restore);
		registered = 1;
	}
	return 0;
}

void
term_size(int fd, unsigned *rows, unsigned *cols)
{
	struct winsize ws;

	*rows = 24;
	*cols = 80;
	if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
		*rows = ws.ws_row;
		*cols = ws.ws_col;
	}
}

static void
on_winch(int sig)
{
	int saved_errno = errno;
	char c = 0;

	(void)sig;
	if (write(winch_pipe[1], &c, 1) < 0) {
		/* A full pipe already says "resized". */
	}
	errno = saved_errno;
}

int
term_winch_fd(void)
{
	struct sigaction sa;

	if (winch_pipe[0] >= 0)
		return winch_pipe[0];
	if (pipe2(winch_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_winch;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGWINCH, &sa, NULL);
	return winch_pipe[0];
}
