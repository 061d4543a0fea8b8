/*
 * sock.h - connecting to local stream sockets (sbx-vmm's control socket,
 * its vsock and port-forward sockets).
 */
#ifndef SBX_CORE_SOCK_H
#define SBX_CORE_SOCK_H

/*
 * A close-on-exec stream socket connected to the unix socket `path`, or
 * -errno (-ENAMETOOLONG when `path` does not fit a sockaddr_un).
 */
int sbx_unix_connect(const char *path);

#endif
