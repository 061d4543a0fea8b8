/*
 * store-test.c - a helper for the store's CLI tests: small commands that
 * create objects, refs and sandboxes, and the crash-safety torture.
 *
 *   store-test put HOME STRING          store STRING, print its id
 *   store-test manifest HOME JSON       store a canonical manifest, print id
 *   store-test ref HOME KIND NAME HEX   point a ref at an object
 *   store-test sandbox HOME JSON        create a sandbox whose "extra" is
 *                                       JSON (an object), print its id
 *   store-test exists HOME HEX          exit 0 if the object exists, else 1
 *   store-test verify HOME              rehash every object; exit 1 if bad
 *   store-test incr HOME ID N           N times: lock, counter += 1, save
 *   store-test counter HOME ID          print extra.counter
 *   store-test gcrace HOME N            a writer stores N objects (and some
 *                                       garbage), referencing each a moment
 *                                       later, while another process runs gc
 *                                       in a loop; then every ref must point
 *                                       at an object and the garbage be gone
 *   store-test crash HOME N SEED [US]   N times: start a writer, SIGKILL it
 *                                       0..US microseconds later (default:
 *                                       twice the time a writer takes to
 *                                       commit once, within 5..60 ms),
 *                                       check the store
 *
 * The crash writer repeats: store an object (by buffer, stream or move,
 * in turn), log "B seq", point a ref at it, record it in a sandbox.json
 * under the sandbox lock, log "C seq". After each kill the checker
 * requires: every object rehashes to its name; the ref and sandbox.json
 * parse and hold the last committed value or the one being written (and
 * their objects exist). Exit 0 when all iterations pass.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/parse.h"
#include "core/xmalloc.h"
#include "store/gc.h"
#include "store/manifest.h"
#include "store/refs.h"
#include "store/registry.h"
#include "store/store.h"
#include "core/banned.h"

#define MAX_OBJ (96 * 1024)

static struct sbx_store *
open_or_die(const char *home)
{
	struct sbx_store *s;
	struct sbx_err e;

	sbx_err_clear(&e);
	if (sbx_store_open(home, &s, &e) < 0) {
		fprintf(stderr, "store-test: %s\n", e.msg);
		exit(2);
	}
	return s;
}

static int
fail(const struct sbx_err *e)
{
	fprintf(stderr, "store-test: %s\n", e->msg);
	return 1;
}

static long long
num(const char *s, long long max)
{
	struct sbx_err e;
	long long v;

	sbx_err_clear(&e);
	if (sbx_parse_int(s, 0, max, &v, &e) < 0) {
		fprintf(stderr, "store-test: %s\n", e.msg);
		exit(2);
	}
	return v;
}

/* ---- the crash writer ---------------------------------------------- */

/* Content number `seq`: deterministic size and bytes. */
static size_t
content(unsigned long seq, char *buf)
{
	size_t len = (size_t)((seq * 7919u) % MAX_OBJ) + 1, i;
	unsigned x = (unsigned)seq * 2654435761u + 1;

	for (i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (char)(x >> 16);
	}
	return len;
}

static void
content_id(unsigned long seq, char *buf, struct sbx_oid *id)
{
	size_t len = content(seq, buf);

	sbx_oid_hash(buf, len, id);
}

/* Reads the log: the last "B n" and "C n" lines (0 if none). */
static void
read_log(const char *path, unsigned long *b, unsigned long *c)
{
	struct sbx_buf log = SBX_BUF_INIT;
	char *line, *save = NULL;

	*b = *c = 0;
	if (sbx_buf_read_file(&log, path, NULL) < 0)
		return;
	for (line = strtok_r(log.buf, "\n", &save); line;
	    line = strtok_r(NULL, "\n", &save)) {
		unsigned long v;
		char kind;

		if (sscanf(line, "%c %lu", &kind, &v) != 2)
			continue;
		if (kind == 'B')
			*b = v;
		else if (kind == 'C')
			*c = v;
	}
	sbx_buf_release(&log);
}

static void
log_line(int fd, char kind, unsigned long seq)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "%c %lu\n", kind, seq);

	if (write(fd, line, (size_t)n) != n)
		_exit(3);
}

/* Stores content `seq` by one of the three put paths. */
static int
writer_put(struct sbx_store *s, unsigned long seq, char *buf,
    const char *scratch, struct sbx_oid *id, struct sbx_err *e)
{
	size_t len = content(seq, buf), off;
	char *tmp;
	int fd, r;

	switch (seq % 3) {
	case 0:
		return sbx_store_put_buf(s, buf, len, id, e);
	case 1:
		fd = open(scratch, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0)
			return sbx_err_sys(e, "cannot open '%s'", scratch);
		if (write(fd, buf, len) != (ssize_t)len ||
		    lseek(fd, 0, SEEK_SET) < 0) {
			close(fd);
			return sbx_err_sys(e, "cannot write '%s'", scratch);
		}
		r = sbx_store_put_fd(s, fd, id, NULL, e);
		close(fd);
		return r;
	default:
		r = sbx_store_tmpfile(s, "crash", &tmp, &fd, e);
		if (r < 0)
			return r;
		for (off = 0; off < len; off += 4096) {
			size_t n = len - off < 4096 ? len - off : 4096;

			if (write(fd, buf + off, n) != (ssize_t)n) {
				close(fd);
				free(tmp);
				return sbx_err_sys(e, "cannot write");
			}
		}
		close(fd);
		r = sbx_store_put_path(s, tmp, NULL, id, e);
		free(tmp);
		return r;
	}
}

/* Points the ref and the sandbox at object `id` (value seq). */
static int
writer_commit(struct sbx_store *s, const char *sbid, unsigned long seq,
    const struct sbx_oid *id, struct sbx_err *e)
{
	char ref[SBX_MANIFEST_REF_SIZE];
	struct sbx_sandbox_lock *l;
	struct sbx_sandbox sb;
	int r;

	if ((r = sbx_ref_write(s, "snapshots", "crash", id, e)) < 0)
		return r;
	if ((r = sbx_sandbox_lock(s, sbid, 10000, &l, e)) < 0)
		return r;
	r = sbx_sandbox_load(s, sbid, &sb, e);
	if (r == 0) {
		sbx_manifest_ref_str(id, ref);
		json_object_set_new(sb.extra, "counter",
		    json_integer((json_int_t)seq));
		json_object_set_new(sb.extra, "object", json_string(ref));
		r = sbx_sandbox_save(s, &sb, e);
	}
	sbx_sandbox_release(&sb);
	sbx_sandbox_unlock(l);
	return r;
}

/*
 * The child: runs until killed. An update the previous writer began
 * (B logged, no C) is finished first, as a journal replay would, so the
 * values on disk are always the last committed one or the one begun.
 */
static void
writer(const char *home, const char *logpath, const char *scratch,
    const char *sbid)
{
	struct sbx_store *s = open_or_die(home);
	char *buf = xmalloc(MAX_OBJ);
	unsigned long b, c, seq;
	struct sbx_oid id;
	struct sbx_err e;
	int logfd;

	read_log(logpath, &b, &c);
	logfd = open(logpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (logfd < 0)
		_exit(3);
	sbx_err_clear(&e);
	if (b > c) {
		if (writer_put(s, b, buf, scratch, &id, &e) < 0 ||
		    writer_commit(s, sbid, b, &id, &e) < 0)
			goto bad;
		log_line(logfd, 'C', b);
		sbx_store_write_done(s);
	}
	for (seq = b + 1;; seq++) {
		if (writer_put(s, seq, buf, scratch, &id, &e) < 0)
			goto bad;
		log_line(logfd, 'B', seq);
		if (writer_commit(s, sbid, seq, &id, &e) < 0)
			goto bad;
		log_line(logfd, 'C', seq);
		sbx_store_write_done(s);
	}
bad:
	fprintf(stderr, "store-test: writer: %s\n", e.msg);
	_exit(3);
}

/* ---- the checker ---------------------------------------------------- */

struct verified {
	struct sbx_oid *ids;
	size_t nr, alloc;
	struct sbx_store *s;
	int bad;
};

static int
cmp_oid(const void *a, const void *b)
{
	return sbx_oid_cmp(a, b);
}

/* Verifies objects not verified before (objects never change). */
static int
verify_new(const struct sbx_oid *id, uint64_t size, void *arg)
{
	struct verified *v = arg;
	struct sbx_err e;

	(void)size;
	if (v->nr && bsearch(id, v->ids, v->nr, sizeof(*id), cmp_oid))
		return 0;
	sbx_err_clear(&e);
	if (sbx_store_object_verify(v->s, id, &e) < 0) {
		fprintf(stderr, "store-test: torn object: %s\n", e.msg);
		v->bad = 1;
		return 0;
	}
	if (v->nr == v->alloc) {
		v->alloc = v->alloc ? v->alloc * 2 : 256;
		v->ids = xreallocarray(v->ids, v->alloc, sizeof(*v->ids));
	}
	v->ids[v->nr++] = *id;
	return 0;
}

/* 1 if `got` is the id of content `c`, or of `b` while b > c. */
static int
old_or_new(const struct sbx_oid *got, unsigned long b, unsigned long c,
    char *buf)
{
	struct sbx_oid want;

	content_id(c, buf, &want);
	if (c && !sbx_oid_cmp(got, &want))
		return 1;
	content_id(b, buf, &want);
	return b > c && !sbx_oid_cmp(got, &want);
}

/* Checks the store after a kill; returns 0 when consistent. */
static int
check(const char *home, const char *logpath, const char *sbid,
    struct verified *v, char *buf, int *mid)
{
	struct sbx_store *s = open_or_die(home);
	struct sbx_sandbox sb;
	struct sbx_oid id;
	struct sbx_err e;
	unsigned long b, c;
	json_int_t counter;
	int r, bad = 0;

	read_log(logpath, &b, &c);
	*mid = b > c;
	v->s = s;
	sbx_err_clear(&e);
	if (sbx_store_foreach_object(s, verify_new, v, &e) < 0 || v->bad)
		bad = 1;
	qsort(v->ids, v->nr, sizeof(*v->ids), cmp_oid);
	r = sbx_ref_read(s, "snapshots", "crash", &id, &e);
	if (r == SBX_ENOENT && c == 0) {
		/* Not written yet. */
	} else if (r < 0) {
		fprintf(stderr, "store-test: ref: %s\n", e.msg);
		bad = 1;
	} else if (!old_or_new(&id, b, c, buf)) {
		fprintf(stderr, "store-test: ref holds neither value %lu nor "
		    "%lu\n", c, b);
		bad = 1;
	} else if (!sbx_store_object_exists(s, &id)) {
		fprintf(stderr, "store-test: ref points at a missing object\n");
		bad = 1;
	}
	if (sbx_sandbox_load(s, sbid, &sb, &e) < 0) {
		fprintf(stderr, "store-test: sandbox.json: %s\n", e.msg);
		bad = 1;
	} else {
		counter = json_integer_value(json_object_get(sb.extra,
		    "counter"));
		if (!((unsigned long)counter == c ||
		    (b > c && (unsigned long)counter == b))) {
			fprintf(stderr, "store-test: sandbox.json counter %lld, "
			    "want %lu or %lu\n", (long long)counter, c, b);
			bad = 1;
		}
		if (counter && (!sbx_manifest_parse_ref(json_string_value(
		    json_object_get(sb.extra, "object")), &id) ||
		    !sbx_store_object_exists(s, &id))) {
			fprintf(stderr, "store-test: sandbox.json names a "
			    "missing object\n");
			bad = 1;
		}
	}
	sbx_sandbox_release(&sb);
	sbx_store_close(s);
	return bad;
}

static long
elapsed_us(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000000L +
	    (now.tv_nsec - t0->tv_nsec) / 1000;
}

/* Kills `pid` with SIGKILL and reaps it; 0 if it died of the signal. */
static int
kill_writer(pid_t pid, int iteration)
{
	int status = 0;

	kill(pid, SIGKILL);
	if (waitpid(pid, &status, 0) < 0 || !WIFSIGNALED(status)) {
		fprintf(stderr, "store-test: writer exited by itself (status "
		    "%d) in iteration %d\n", status, iteration);
		return 1;
	}
	return 0;
}

/*
 * Time from starting a writer to its first commit, in microseconds: the
 * median of three runs (sanitizer builds and busy disks are slower).
 */
static long
calibrate(const char *home, const char *logpath, const char *scratch,
    const char *sbid)
{
	struct timespec t0, nap = { 0, 200 * 1000 };
	unsigned long b, c, c0;
	long t[3], x;
	int run;

	for (run = 0; run < 3; run++) {
		pid_t pid;

		read_log(logpath, &b, &c0);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if ((pid = fork()) == 0)
			writer(home, logpath, scratch, sbid);
		do {
			nanosleep(&nap, NULL);
			read_log(logpath, &b, &c);
			t[run] = elapsed_us(&t0);
		} while (c <= c0 && t[run] < 10 * 1000000L);
		if (kill_writer(pid, -1))
			exit(1);
	}
	if (t[0] > t[1]) {
		x = t[0]; t[0] = t[1]; t[1] = x;
	}
	if (t[1] > t[2])
		t[1] = t[2];
	return t[0] > t[1] ? t[0] : t[1];
}

static int
cmd_crash(const char *home, int n, unsigned seed, long max_us)
{
	char *logpath = xasprintf("%s.log", home);
	char *scratch = xasprintf("%s.scratch", home);
	char *buf = xmalloc(MAX_OBJ);
	struct verified v = { NULL, 0, 0, NULL, 0 };
	struct sbx_store *s = open_or_die(home);
	struct sbx_sandbox sb;
	struct sbx_err e;
	int i, mid, nmid = 0, bad = 0;
	unsigned long b, c;
	char sbid[SBX_SANDBOX_ID_SIZE];

	sbx_err_clear(&e);
	sbx_sandbox_init(&sb);
	if (sbx_sandbox_create(s, &sb, &e) < 0)
		return fail(&e);
	memcpy(sbid, sb.id, sizeof(sbid));
	sbx_sandbox_release(&sb);
	sbx_store_close(s);
	if (max_us <= 0) {
		/* Long enough to commit now and then, short enough to keep
		 * 300 iterations within seconds. */
		max_us = 2 * calibrate(home, logpath, scratch, sbid);
		if (max_us < 5000)
			max_us = 5000;
		if (max_us > 60000)
			max_us = 60000;
	}
	bad = check(home, logpath, sbid, &v, buf, &mid);
	srand(seed);
	for (i = 0; i < n && !bad; i++) {
		struct timespec nap;
		long us = rand() % max_us;
		pid_t pid = fork();

		if (pid < 0) {
			perror("store-test: fork");
			return 1;
		}
		if (pid == 0)
			writer(home, logpath, scratch, sbid);
		nap.tv_sec = us / 1000000;
		nap.tv_nsec = (us % 1000000) * 1000;
		nanosleep(&nap, NULL);
		if (kill_writer(pid, i))
			return 1;
		bad = check(home, logpath, sbid, &v, buf, &mid);
		if (bad)
			fprintf(stderr, "store-test: inconsistent after kill "
			    "%d (%ld us after start)\n", i + 1, us);
		nmid += mid;
	}
	read_log(logpath, &b, &c);
	printf("iterations %d\nkilled-mid-update %d\ncommitted %lu\n"
	    "objects %zu\nmax-delay-us %ld\n", i, nmid, c, v.nr, max_us);
	free(v.ids);
	free(buf);
	free(logpath);
	free(scratch);
	return bad;
}

/* ---- gc racing a writer --------------------------------------------- */

/* Stores N objects, each referenced ~1 ms after it was stored. */
static void
race_writer(const char *home, int n, char *buf)
{
	struct sbx_store *s = open_or_die(home);
	struct timespec nap = { 0, 1000 * 1000 };
	struct sbx_oid id;
	struct sbx_err e;
	char name[32];
	int i;

	sbx_err_clear(&e);
	for (i = 1; i <= n; i++) {
		size_t len = content((unsigned long)i, buf);

		if (sbx_store_put_buf(s, buf, len, &id, &e) < 0)
			goto bad;
		if (i % 4 == 0) {
			/* Garbage: stored, never referenced. */
			buf[0] ^= 0x55;
			if (sbx_store_put_buf(s, buf, len, NULL, &e) < 0)
				goto bad;
		}
		nanosleep(&nap, NULL);
		snprintf(name, sizeof(name), "r%d", i);
		if (sbx_ref_write(s, "snapshots", name, &id, &e) < 0)
			goto bad;
		sbx_store_write_done(s);
		nanosleep(&nap, NULL);	/* let gc in */
	}
	sbx_store_close(s);
	_exit(0);
bad:
	fprintf(stderr, "store-test: race writer: %s\n", e.msg);
	_exit(3);
}

/* Runs gc until killed; reports the runs on exit through a pipe. */
static void
race_gc(const char *home, int wfd)
{
	struct sbx_store *s = open_or_die(home);
	struct sbx_gc_opts o;
	struct sbx_gc_stats st;
	struct timespec nap = { 0, 2 * 1000 * 1000 };
	struct sbx_err e;
	char one = 1;

	sbx_gc_opts_init(&o);
	for (;; nanosleep(&nap, NULL)) {
		sbx_err_clear(&e);
		if (sbx_gc(s, &o, &st, &e) < 0) {
			fprintf(stderr, "store-test: race gc: %s\n", e.msg);
			_exit(3);
		}
		if (write(wfd, &one, 1) != 1)
			_exit(3);
	}
}

static int
cmd_gcrace(const char *home, int n)
{
	struct sbx_store *s = open_or_die(home);
	char *buf = xmalloc(MAX_OBJ), name[32];
	struct sbx_gc_opts o;
	struct sbx_gc_stats st;
	struct sbx_oid id;
	struct sbx_err e;
	pid_t w, g;
	int pfd[2], status, bad = 0, runs = 0, i, flags;
	char c;

	if (pipe(pfd) < 0)
		return 1;
	if ((g = fork()) == 0) {
		close(pfd[0]);
		race_gc(home, pfd[1]);
	}
	close(pfd[1]);
	if ((w = fork()) == 0)
		race_writer(home, n, buf);
	if (waitpid(w, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fprintf(stderr, "store-test: the writer failed\n");
		bad = 1;
	}
	kill(g, SIGKILL);
	waitpid(g, &status, 0);
	flags = fcntl(pfd[0], F_GETFL);
	fcntl(pfd[0], F_SETFL, flags | O_NONBLOCK);
	while (read(pfd[0], &c, 1) == 1)
		runs++;
	close(pfd[0]);
	sbx_err_clear(&e);
	for (i = 1; i <= n; i++) {
		snprintf(name, sizeof(name), "r%d", i);
		if (sbx_ref_read(s, "snapshots", name, &id, &e) < 0) {
			fprintf(stderr, "store-test: %s\n", e.msg);
			bad = 1;
		} else if (!sbx_store_object_exists(s, &id)) {
			fprintf(stderr, "store-test: gc removed the object of "
			    "ref '%s' (stored before it was referenced)\n",
			    name);
			bad = 1;
		}
	}
	sbx_gc_opts_init(&o);
	if (sbx_gc(s, &o, &st, &e) < 0) {
		fprintf(stderr, "store-test: final gc: %s\n", e.msg);
		bad = 1;
	}
	printf("gc-runs %d\nobjects %zu\nremoved-at-end %zu\n", runs,
	    st.objects_kept, st.objects_removed);
	if (st.objects_kept != (size_t)n) {
		fprintf(stderr, "store-test: %zu objects left, want %d\n",
		    st.objects_kept, n);
		bad = 1;
	}
	sbx_store_close(s);
	free(buf);
	return bad;
}

/* ---- small commands ------------------------------------------------- */

static int
cmd_incr(const char *home, const char *id, int n)
{
	struct sbx_store *s = open_or_die(home);
	struct sbx_sandbox_lock *l;
	struct sbx_sandbox sb;
	struct sbx_err e;
	json_int_t v;
	int i;

	sbx_err_clear(&e);
	for (i = 0; i < n; i++) {
		if (sbx_sandbox_lock(s, id, 30000, &l, &e) < 0)
			return fail(&e);
		if (sbx_sandbox_load(s, id, &sb, &e) < 0)
			return fail(&e);
		v = json_integer_value(json_object_get(sb.extra, "counter"));
		json_object_set_new(sb.extra, "counter", json_integer(v + 1));
		if (sbx_sandbox_save(s, &sb, &e) < 0)
			return fail(&e);
		sbx_sandbox_release(&sb);
		sbx_sandbox_unlock(l);
		sbx_store_write_done(s);
	}
	sbx_store_close(s);
	return 0;
}

static void
print_id(const struct sbx_oid *id)
{
	char hex[SBX_OID_HEXLEN + 1];

	sbx_oid_to_hex(id, hex);
	printf("%s\n", hex);
}

static int
usage(void)
{
	fprintf(stderr, "usage: store-test put|manifest|ref|sandbox|exists|"
	    "verify|incr|counter|gcrace|crash HOME ...\n");
	return 2;
}

int
main(int argc, char **argv)
{
	struct sbx_store *s;
	struct sbx_sandbox sb;
	struct sbx_oid id;
	struct sbx_err e;
	const char *cmd;
	json_t *j;
	int r = 0;

	if (argc < 3)
		return usage();
	cmd = argv[1];
	sbx_err_clear(&e);
	if (!strcmp(cmd, "crash") && (argc == 5 || argc == 6))
		return cmd_crash(argv[2], (int)num(argv[3], 100000),
		    (unsigned)num(argv[4], 1LL << 31),
		    argc == 6 ? (long)num(argv[5], 100000000) + 1 : 0);
	if (!strcmp(cmd, "gcrace") && argc == 4)
		return cmd_gcrace(argv[2], (int)num(argv[3], 100000));
	if (!strcmp(cmd, "incr") && argc == 5)
		return cmd_incr(argv[2], argv[3], (int)num(argv[4], 1000000));
	s = open_or_die(argv[2]);
	if (!strcmp(cmd, "put") && argc == 4) {
		if ((r = sbx_store_put_buf(s, argv[3], strlen(argv[3]), &id,
		    &e)) == 0)
			print_id(&id);
	} else if (!strcmp(cmd, "manifest") && argc == 4) {
		j = json_loads(argv[3], 0, NULL);
		if (!j)
			r = sbx_err_set(&e, SBX_EINVAL, "bad JSON");
		else if ((r = sbx_manifest_put(s, j, &id, &e)) == 0)
			print_id(&id);
		json_decref(j);
	} else if (!strcmp(cmd, "ref") && argc == 6) {
		if ((r = sbx_oid_from_hex(argv[5], &id, &e)) == 0)
			r = sbx_ref_write(s, argv[3], argv[4], &id, &e);
	} else if (!strcmp(cmd, "sandbox") && argc == 4) {
		sbx_sandbox_init(&sb);
		j = json_loads(argv[3], 0, NULL);
		if (!json_is_object(j)) {
			r = sbx_err_set(&e, SBX_EINVAL, "bad JSON object");
		} else {
			json_object_update(sb.extra, j);
			if ((r = sbx_sandbox_create(s, &sb, &e)) == 0)
				printf("%s\n", sb.id);
		}
		json_decref(j);
		sbx_sandbox_release(&sb);
	} else if (!strcmp(cmd, "exists") && argc == 4) {
		if ((r = sbx_oid_from_hex(argv[3], &id, &e)) == 0 &&
		    !sbx_store_object_exists(s, &id)) {
			sbx_store_close(s);
			return 1;
		}
	} else if (!strcmp(cmd, "verify") && argc == 3) {
		size_t nbad = 0;

		r = sbx_store_verify(s, NULL, NULL, &nbad, &e);
	} else if (!strcmp(cmd, "counter") && argc == 4) {
		if ((r = sbx_sandbox_load(s, argv[3], &sb, &e)) == 0)
			printf("%lld\n", (long long)json_integer_value(
			    json_object_get(sb.extra, "counter")));
		sbx_sandbox_release(&sb);
	} else {
		sbx_store_close(s);
		return usage();
	}
	sbx_store_close(s);
	return r < 0 ? fail(&e) : 0;
}
