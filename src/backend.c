/*
 * backend.c - helpers shared by every backend.
 */
#include <stdlib.h>

#include "backend.h"
#include "core/banned.h"

int
sbx_backend_unsupported(const struct sbx_backend *b, const char *op,
    struct sbx_err *e)
{
	return sbx_err_set(e, SBX_ENOTSUP,
	    "'%s' is not supported by backend '%s'", op, b ? b->name : "?");
}

void
sbx_file_stat_release(struct sbx_file_stat *st)
{
	if (!st)
		return;
	free(st->name);
	free(st->link);
	st->name = st->link = NULL;
}
