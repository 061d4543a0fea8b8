/*
 * backend.h - the operations every backend implements (DESIGN.md 8).
 *
 * `kvm` (local, backends/kvm) and `remote` (backends/remote) fill one
 * `struct sbx_backend` each; a NULL op means "not supported by backend
 * 'name'". The operations are added by the issues that implement them.
 */
#ifndef SBX_BACKEND_H
#define SBX_BACKEND_H

struct sbx_err;

struct sbx_backend {
	const char *name;
};

#endif
