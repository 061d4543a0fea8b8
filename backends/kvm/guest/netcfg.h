/*
 * netcfg.h - sbx-init's network set-up (static, no DHCP): the guest side
 * of sbx-vmm's user-mode network (backends/kvm/vmm/net_slirp.h).
 */
#ifndef SBX_KVM_GUEST_NETCFG_H
#define SBX_KVM_GUEST_NETCFG_H

#define NETCFG_IF "eth0"
#define NETCFG_ADDR "10.0.2.15"
#define NETCFG_MASK "255.255.255.0"
#define NETCFG_GATEWAY "10.0.2.2"
#define NETCFG_DNS "10.0.2.3"

/*
 * Brings lo up and, if eth0 appears within 2 s, configures it. Call after
 * switch_root (it writes /run/sbx/resolv.conf and /etc/resolv.conf).
 * Reports failures on the console; never fatal.
 */
void netcfg_up(void);

#endif
