/*
 * agent-client-int.h - helpers shared by the files of the agent client
 * (agent-client.c, agent-exec.c, agent-files.c); not a public API.
 */
#ifndef SBX_KVM_AGENT_CLIENT_INT_H
#define SBX_KVM_AGENT_CLIENT_INT_H

#include "kvm/agent-client.h"

/* agent_read_msg's result when the connection dropped (retry). */
#define AGENT_DROPPED 1

/* Connects with retries and backoff; an fd or SBX_ENET with `e`. */
int agent_connect(struct sbx_agent *a, struct sbx_err *e);
/*
 * Reads and decodes one control frame into `m` (`buf`: a payload buffer).
 * 0, AGENT_DROPPED (e says why) or a negative SBX_E code.
 */
int agent_read_msg(int fd, uint8_t *buf, struct sbx_agent_msg *m,
    struct sbx_err *e);
/* Fills `e` from an ERROR frame; returns the SBX_E code. */
int agent_remote_error(const struct sbx_agent_msg *m, struct sbx_err *e);
int agent_errno_code(int err);
void agent_stat_from(struct sbx_agent_stat *st, const struct sbx_agent_msg *m);
void agent_sleep_ms(unsigned ms);

#endif
