/*
 * netcfg.c - sbx-init's static network set-up (netcfg.h): lo up; when
 * sbx-vmm gave the guest a virtio-net device, eth0 10.0.2.15/24 up with
 * a default route via 10.0.2.2 and 10.0.2.3 as the name server (the
 * addresses of sbx-vmm's user-mode network, backends/kvm/vmm/net_slirp.h).
 * Plain ioctls: the root disk needs no ip(8) or DHCP client.
 *
 * The name server goes to /run/sbx/resolv.conf, and /etc/resolv.conf is
 * made a symlink to it (the root is an overlay with a writable upper
 * layer), or the file is bind-mounted over it on a read-only root.
 * A restored or forked VM keeps the same address and MAC: nothing to redo.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kvm/guest/netcfg.h"
#include "core/banned.h"

#define RESOLV_RUN "/run/sbx/resolv.conf"

static void
say(const char *fmt, const char *a, const char *b)
{
	char line[256];
	int n;

	n = snprintf(line, sizeof(line), "sbx-init: ");
	n += snprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, a, b);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(2, line, (size_t)n) < 0)
		return;
}

static void
set_addr(struct sockaddr *sa, const char *ip)
{
	struct sockaddr_in *in = (struct sockaddr_in *)sa;

	memset(in, 0, sizeof(*in));
	in->sin_family = AF_INET;
	inet_pton(AF_INET, ip, &in->sin_addr);
}

/* Sets the IFF_UP flag of `name`; 0 or -1. */
static int
link_up(int fd, const char *name)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return -1;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	return ioctl(fd, SIOCSIFFLAGS, &ifr);
}

static void
write_resolv(void)
{
	static const char conf[] = "nameserver " NETCFG_DNS "\n";
	int fd;

	mkdir("/run/sbx", 0755);
	fd = open(RESOLV_RUN, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, conf, sizeof(conf) - 1) !=
	    (ssize_t)sizeof(conf) - 1) {
		say("cannot write %s: %s", RESOLV_RUN, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	if ((unlink("/etc/resolv.conf") == 0 || errno == ENOENT) &&
	    symlink(RESOLV_RUN, "/etc/resolv.conf") == 0)
		return;
	if (mount(RESOLV_RUN, "/etc/resolv.conf", NULL, MS_BIND, NULL) < 0)
		say("cannot install /etc/resolv.conf: %s%s", strerror(errno),
		    "");
}

/* True if a virtio device of type 1 (network) exists. */
static int
have_virtio_net(void)
{
	char path[300], id[16];
	struct dirent *d;
	DIR *dir = opendir("/sys/bus/virtio/devices");
	int found = 0, fd;
	ssize_t n;

	if (!dir)
		return 0;
	while (!found && (d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/virtio/devices/%s/device",
		    d->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, id, sizeof(id) - 1);
		close(fd);
		if (n > 0) {
			id[n] = 0;
			found = !strncmp(id, "0x0001", 6);
		}
	}
	closedir(dir);
	return found;
}

void
netcfg_up(void)
{
	struct timespec ts = { 0, 10 * 1000000L };
	struct ifreq ifr;
	struct rtentry rt;
	int fd, i;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		say("cannot configure the network: %s%s", strerror(errno), "");
		return;
	}
	if (link_up(fd, "lo") < 0)
		say("cannot bring up lo: %s%s", strerror(errno), "");
	if (!have_virtio_net()) {
		close(fd);
		return;		/* started without a network */
	}
	/* The driver may still be probing. */
	for (i = 0; i < 200 && !if_nametoindex(NETCFG_IF); i++)
		nanosleep(&ts, NULL);
	if (!if_nametoindex(NETCFG_IF)) {
		say("no %s although there is a virtio network device%s",
		    NETCFG_IF, "");
		close(fd);
		return;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", NETCFG_IF);
	set_addr(&ifr.ifr_addr, NETCFG_ADDR);
	if (ioctl(fd, SIOCSIFADDR, &ifr) < 0)
		goto fail;
	set_addr(&ifr.ifr_netmask, NETCFG_MASK);
	if (ioctl(fd, SIOCSIFNETMASK, &ifr) < 0 || link_up(fd, NETCFG_IF) < 0)
		goto fail;
	memset(&rt, 0, sizeof(rt));
	set_addr(&rt.rt_dst, "0.0.0.0");
	set_addr(&rt.rt_genmask, "0.0.0.0");
	set_addr(&rt.rt_gateway, NETCFG_GATEWAY);
	rt.rt_flags = RTF_UP | RTF_GATEWAY;
	rt.rt_dev = (char *)NETCFG_IF;
	if (ioctl(fd, SIOCADDRT, &rt) < 0 && errno != EEXIST)
		goto fail;
	close(fd);
	write_resolv();
	say("network: %s %s/24 via " NETCFG_GATEWAY, NETCFG_IF, NETCFG_ADDR);
	return;
fail:
	say("cannot configure %s: %s", NETCFG_IF, strerror(errno));
	close(fd);
}
