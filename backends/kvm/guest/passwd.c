/*
 * passwd.c - user lookup from /etc/passwd and /etc/group, parsed by hand
 * because static glibc's getpwnam needs NSS modules the guest lacks. Lines
 * that do not have the expected number of fields are skipped.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/guest/agentd.h"
#include "core/banned.h"

/* Splits `line` in place at ':' into at most `max` fields; returns count. */
static int
split_colon(char *line, char **f, int max)
{
	int n = 0;
	char *p = line;

	while (n < max) {
		f[n++] = p;
		p = strchr(p, ':');
		if (!p)
			break;
		*p++ = '\0';
	}
	return p ? -1 : n;
}

/* Parses a decimal id; -1 if not a plain number in range. */
static long
parse_id(const char *s)
{
	char *end;
	long v;

	if (!*s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0 || v > (long)UINT_MAX - 1)
		return -1;
	return v;
}

static void
copy_field(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src);
}

/* Adds the supplementary groups that list `name` as a member. */
static void
load_groups(struct user_info *u, const char *group)
{
	FILE *f = fopen(group ? group : "/etc/group", "re");
	char line[4096];

	u->groups[0] = u->gid;
	u->ngroups = 1;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f) &&
	    u->ngroups < (int)(sizeof(u->groups) / sizeof(u->groups[0]))) {
		char *fld[4], *m, *save = NULL;
		long gid;

		line[strcspn(line, "\n")] = '\0';
		if (split_colon(line, fld, 4) != 4)
			continue;
		if ((gid = parse_id(fld[2])) < 0 || (gid_t)gid == u->gid)
			continue;
		for (m = strtok_r(fld[3], ",", &save); m;
		    m = strtok_r(NULL, ",", &save))
			if (!strcmp(m, u->name)) {
				u->groups[u->ngroups++] = (gid_t)gid;
				break;
			}
	}
	fclose(f);
}

int
user_lookup(const char *user, struct user_info *u, const char *passwd,
    const char *group)
{
	FILE *f = fopen(passwd ? passwd : "/etc/passwd", "re");
	long want = parse_id(user);
	char line[4096];
	int found = 0;

	memset(u, 0, sizeof(*u));
	if (!f && want < 0)
		return -ENOENT;
	while (f && !found && fgets(line, sizeof(line), f)) {
		char *fld[7];
		long uid, gid;

		line[strcspn(line, "\n")] = '\0';
		if (split_colon(line, fld, 7) != 7)
			continue;
		uid = parse_id(fld[2]);
		gid = parse_id(fld[3]);
		if (uid < 0 || gid < 0)
			continue;
		if (want >= 0 ? uid != want : strcmp(fld[0], user) != 0)
			continue;
		u->uid = (uid_t)uid;
		u->gid = (gid_t)gid;
		copy_field(u->name, sizeof(u->name), fld[0]);
		copy_field(u->home, sizeof(u->home), fld[5][0] ? fld[5] : "/");
		copy_field(u->shell, sizeof(u->shell),
		    fld[6][0] ? fld[6] : "/bin/sh");
		found = 1;
	}
	if (f)
		fclose(f);
	if (!found) {
		if (want < 0)
			return -ENOENT;
		u->uid = (uid_t)want;
		u->gid = (gid_t)want;
		copy_field(u->name, sizeof(u->name), user);
		copy_field(u->home, sizeof(u->home), "/");
		copy_field(u->shell, sizeof(u->shell), "/bin/sh");
	}
	load_groups(u, group);
	return 0;
}
