/*
 * proxy.c - the pure parts of the port proxy (proxy.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xmalloc.h"
#include "serve/proxy.h"
#include "core/banned.h"

#define PREFIX "/v1/sandboxes/"

int
sbx_proxy_target(const char *uri, const char *kind, char **id,
    unsigned *port, char **target, struct sbx_err *e)
{
	const char *p = uri, *ide, *ps;
	unsigned long n = 0;
	size_t kl = strlen(kind);

	*id = *target = NULL;
	if (strncmp(p, PREFIX, strlen(PREFIX)))
		return sbx_err_set(e, SBX_EUSAGE, "'%s' is not a %s URL", uri,
		    kind);
	p += strlen(PREFIX);
	ide = strchr(p, '/');
	if (!ide || ide == p || strncmp(ide + 1, kind, kl) ||
	    ide[1 + kl] != '/')
		return sbx_err_set(e, SBX_EUSAGE, "'%s' is not a %s URL", uri,
		    kind);
	ps = ide + 2 + kl;
	for (p = ps; *p >= '0' && *p <= '9' && p - ps < 6; p++)
		n = n * 10 + (unsigned long)(*p - '0');
	if (p == ps || (*p && *p != '/' && *p != '?') || n < 1 || n > 65535)
		return sbx_err_set(e, SBX_EUSAGE, "port '%.*s' is not in "
		    "1..65535", (int)strcspn(ps, "/?"), ps);
	*id = xstrndup(uri + strlen(PREFIX), (size_t)(ide - uri -
	    strlen(PREFIX)));
	*port = (unsigned)n;
	*target = *p == '/' ? xstrdup(p) : xasprintf("/%s", p);
	return 0;
}

/* 1 if `name` is one of the comma-separated tokens of `list`. */
static int
in_list(const char *name, const char *list)
{
	size_t n = strlen(name), len;
	const char *p = list;

	while (p && *p) {
		p += strspn(p, " \t,");
		len = strcspn(p, " \t,");
		if (len == n && !strncasecmp(p, name, n))
			return 1;
		p += len;
	}
	return 0;
}

static const char *const hop[] = {
	"Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer",
	"Transfer-Encoding", "Upgrade", "Proxy-Authenticate",
	"Proxy-Authorization", "Content-Length", NULL,
};

/* 1 if `name` is hop-by-hop (Upgrade passes with `upgrade`). */
static int
hop_header(const char *name, const char *conn, int upgrade)
{
	size_t i;

	if (upgrade && !strcasecmp(name, "Upgrade"))
		return 0;
	for (i = 0; hop[i]; i++)
		if (!strcasecmp(name, hop[i]))
			return 1;
	return conn && !(upgrade && !strcasecmp(name, "Upgrade")) &&
	    in_list(name, conn);
}

int
sbx_proxy_drop_request_header(const char *name, const char *conn,
    int upgrade)
{
	return hop_header(name, conn, upgrade) ||
	    !strcasecmp(name, "Authorization") || !strcasecmp(name, "Expect");
}

int
sbx_proxy_drop_response_header(const char *name, const char *conn,
    int upgrade)
{
	return hop_header(name, conn, upgrade);
}

void
sbx_proxy_head_release(struct sbx_proxy_head *h)
{
	sbx_strvec_clear(&h->hdr);
	memset(h, 0, sizeof(*h));
}

/* 1 if s[0..n) is a token (RFC 9110 tchar). */
static int
is_token(const char *s, size_t n)
{
	size_t i;

	if (!n)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f ||
		    strchr("\"(),/:;<=>?@[\\]{}", s[i]))
			return 0;
	return 1;
}

int
sbx_proxy_head_parse(const char *buf, size_t len, struct sbx_proxy_head *h,
    struct sbx_err *e)
{
	const char *end = NULL, *p, *eol, *colon, *v, *ve;
	size_t i;
	char *num;

	memset(h, 0, sizeof(*h));
	sbx_strvec_init(&h->hdr);
	h->length = -1;
	for (i = 0; i + 3 < len; i++)
		if (!memcmp(buf + i, "\r\n\r\n", 4)) {
			end = buf + i + 2;
			break;
		}
	if (!end) {
		if (len >= SBX_PROXY_HEAD_MAX)
			return sbx_err_set(e, SBX_EIO, "the guest's response "
			    "head is longer than %u bytes", SBX_PROXY_HEAD_MAX);
		return 0;
	}
	if (end + 2 - buf > (long)SBX_PROXY_HEAD_MAX)
		return sbx_err_set(e, SBX_EIO, "the guest's response head is "
		    "longer than %u bytes", SBX_PROXY_HEAD_MAX);
	if (memchr(buf, '\0', (size_t)(end - buf)))
		return sbx_err_set(e, SBX_EIO, "the guest's response head has "
		    "a NUL byte");
	if (len < 12 || strncmp(buf, "HTTP/1.", 7) || (buf[7] != '0' &&
	    buf[7] != '1') || buf[8] != ' ' || buf[9] < '1' || buf[9] > '9' ||
	    buf[10] < '0' || buf[10] > '9' || buf[11] < '0' || buf[11] > '9' ||
	    (buf[12] != ' ' && buf[12] != '\r'))
		return sbx_err_set(e, SBX_EIO, "the guest did not answer with "
		    "an HTTP/1.x status line");
	h->status = (unsigned)((buf[9] - '0') * 100 + (buf[10] - '0') * 10 +
	    (buf[11] - '0'));
	p = strstr(buf, "\r\n") + 2;
	while (p < end) {
		eol = p;
		while (eol < end && eol[0] != '\r')
			eol++;
		if (eol[1] != '\n')
			goto bad;
		colon = memchr(p, ':', (size_t)(eol - p));
		if (!colon || !is_token(p, (size_t)(colon - p)))
			goto bad;
		for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
			;
		for (ve = eol; ve > v && (ve[-1] == ' ' || ve[-1] == '\t');
		    ve--)
			;
		for (i = 0; v + i < ve; i++)
			if ((unsigned char)v[i] < ' ' && v[i] != '\t')
				goto bad;
		sbx_strvec_pushf(&h->hdr, "%.*s", (int)(colon - p), p);
		sbx_strvec_pushf(&h->hdr, "%.*s", (int)(ve - v), v);
		p = eol + 2;
	}
	for (i = 0; i + 1 < h->hdr.nr; i += 2) {
		const char *n = h->hdr.v[i], *val = h->hdr.v[i + 1];

		if (!strcasecmp(n, "Content-Length")) {
			long long cl;

			errno = 0;
			cl = strtoll(val, &num, 10);
			if (errno || *num || num == val || cl < 0 ||
			    (h->length >= 0 && h->length != cl)) {
				sbx_err_set(e, SBX_EIO, "the guest sent a bad "
				    "Content-Length '%s'", val);
				sbx_proxy_head_release(h);
				return SBX_EIO;
			}
			h->length = cl;
		} else if (!strcasecmp(n, "Transfer-Encoding")) {
			h->chunked = 1;
		} else if (!strcasecmp(n, "Connection")) {
			h->connection = val;
		}
	}
	h->head_len = (size_t)(end + 2 - buf);
	return 1;
bad:
	sbx_proxy_head_release(h);
	return sbx_err_set(e, SBX_EIO, "the guest sent a malformed header "
	    "line");
}
