/*
 * remote.h - the remote backend: a libcurl client of the REST API of
 * `sbx serve` (doc/api.md). The dispatcher selects it for `--remote URL`
 * or $SBX_REMOTE, with the token from $SBX_TOKEN (cfg->token).
 */
#ifndef SBX_REMOTE_REMOTE_H
#define SBX_REMOTE_REMOTE_H

#include "backend.h"

extern const struct sbx_backend sbx_backend_remote;

#endif
