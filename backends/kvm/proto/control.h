/*
 * control.h - sbx-vmm's control socket protocol, version 1, and its exit
 * statuses. Shared by sbx-vmm (server) and the local backend (client).
 * Full description with examples: doc/vmm-control.md.
 *
 * Transport: a unix stream socket (sbx-vmm --control PATH). Each request
 * is one line holding one JSON object with an "op" member; each reply is
 * one line holding one JSON object: {"ok":true, ...} or
 * {"ok":false,"error":"message"}. Requests on one connection are answered
 * in order. After {"op":"events"} the connection only receives event
 * lines ({"event":"panic"|"exit", ...}) until it closes.
 *
 * A client should send {"op":"hello","proto":1} first; sbx-vmm answers
 * with its protocol version and refuses a client whose major version
 * differs.
 */
#ifndef SBX_KVM_PROTO_CONTROL_H
#define SBX_KVM_PROTO_CONTROL_H

#define SBX_CONTROL_PROTO 1
#define SBX_CONTROL_LINE_MAX 4096	/* longest request line accepted */

/* Operations ("op"). */
#define SBX_CONTROL_HELLO "hello"	/* -> proto, vmm, id, pid */
#define SBX_CONTROL_STATUS "status"	/* -> state, uptime_ms, vcpus, ... */
#define SBX_CONTROL_STATS "stats"	/* -> per-vCPU time and exits, RSS */
#define SBX_CONTROL_PAUSE "pause"	/* -> state "paused" */
#define SBX_CONTROL_RESUME "resume"	/* -> state "running" */
#define SBX_CONTROL_STOP "stop"		/* {"timeout_ms":N}: wait N ms for
					   the guest to power off, then
					   tear down; reply before exit */
#define SBX_CONTROL_EVENTS "events"	/* subscribe to event lines */

/* Values of "state" in status replies. */
#define SBX_VMM_STATE_RUNNING "running"
#define SBX_VMM_STATE_PAUSED "paused"
#define SBX_VMM_STATE_STOPPING "stopping"

/*
 * sbx-vmm exit statuses. "reason" in the exit event uses the names in
 * the comments.
 */
enum sbx_vmm_exit {
	SBX_VMM_EXIT_POWEROFF = 0,	/* "poweroff": guest powered off */
	SBX_VMM_EXIT_ERROR = 1,		/* "error": VMM or KVM failure */
	SBX_VMM_EXIT_USAGE = 2,		/* bad command line */
	SBX_VMM_EXIT_REBOOT = 3,	/* "reboot": guest rebooted/reset */
	SBX_VMM_EXIT_PANIC = 4,		/* "panic": guest kernel panicked */
	SBX_VMM_EXIT_STOPPED = 5,	/* "stopped": stop request or signal */
};

#endif
