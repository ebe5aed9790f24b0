/*
 * UDP sockets for listeners, per-allocation client sockets and relays;
 * TCP listening sockets for tcp:// and tls:// listeners.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>

#include "turnpike/net.h"

static int set_int_option(int fd, int level, int name, int value)
{
	if (setsockopt(fd, level, name, &value, sizeof(value)) != 0)
		return errno;
	return 0;
}

static int apply_options(int fd, int family,
                         const struct net_udp_options *options)
{
	int err = 0;

	if (options == NULL)
		return 0;
	if (options->reuseport)
		err = set_int_option(fd, SOL_SOCKET, SO_REUSEPORT, 1);
	if (err == 0 && family == AF_INET6)
		err = set_int_option(fd, IPPROTO_IPV6, IPV6_V6ONLY,
		                     options->v6only ? 1 : 0);
	/* Buffer sizes are a wish: the kernel caps them at rmem_max and
	 * wmem_max, which is not an error worth refusing to start over. */
	if (err == 0 && options->rcvbuf > 0)
		(void)set_int_option(fd, SOL_SOCKET, SO_RCVBUF,
		                     options->rcvbuf);
	if (err == 0 && options->sndbuf > 0)
		(void)set_int_option(fd, SOL_SOCKET, SO_SNDBUF,
		                     options->sndbuf);
	return err;
}

static int open_udp(int family, const struct net_udp_options *options,
                    int *fd_out)
{
	int fd = -1, err;

	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	err = apply_options(fd, family, options);
	if (err != 0) {
		close(fd);
		return err;
	}
	*fd_out = fd;
	return 0;
}

int net_udp_bind(const struct sockaddr *addr, socklen_t addr_len,
                 const struct net_udp_options *options, int *fd_out)
{
	int fd = -1, err;

	err = open_udp(addr->sa_family, options, &fd);
	if (err != 0)
		return err;
	if (bind(fd, addr, addr_len) != 0) {
		err = errno;
		close(fd);
		return err;
	}
	*fd_out = fd;
	return 0;
}

int net_udp_connected(const struct sockaddr *local, const struct sockaddr *peer,
                      const struct net_udp_options *options, int *fd_out)
{
	int fd = -1, err;

	err = net_udp_bind(local, net_addr_len(local), options, &fd);
	if (err != 0)
		return err;
	if (connect(fd, peer, net_addr_len(peer)) != 0) {
		err = errno;
		close(fd);
		return err;
	}
	*fd_out = fd;
	return 0;
}

int net_udp_bind_port(const struct sockaddr *addr, uint16_t port,
                      const struct net_udp_options *options, int *fd_out)
{
	struct sockaddr_storage local;

	memcpy(&local, addr, net_addr_len(addr));
	net_addr_set_port((struct sockaddr *)&local, port);
	return net_udp_bind((struct sockaddr *)&local, net_addr_len(addr),
	                    options, fd_out);
}

/* Tries one candidate port (and its pair for EVEN-PORT with reservation). */
static int try_relay_port(const struct net_relay_request *request,
                          uint16_t port, int *fd_out, int *next_fd_out)
{
	int fd, next_fd = -1, err;

	err = net_udp_bind_port(request->addr, port, request->options, &fd);
	if (err != 0)
		return err;
	if (request->even_port) {
		/* RFC 8656 §7.2: with EVEN-PORT the next port must be free
		 * too; with the R bit it is kept for the reservation, with
		 * SO_REUSEPORT so that whichever worker redeems the token can
		 * bind it (net_relay_redeem). */
		struct net_udp_options reserved = {0};

		if (request->options != NULL)
			reserved = *request->options;

		reserved.reuseport = request->reserve_next;
		err = net_udp_bind_port(request->addr, port + 1, &reserved,
		                        &next_fd);
		if (err != 0) {
			close(fd);
			return err;
		}
		if (!request->reserve_next) {
			close(next_fd);
			next_fd = -1;
		}
	}
	*fd_out = fd;
	*next_fd_out = next_fd;
	return 0;
}

int net_relay_bind(const struct net_relay_request *request, uint32_t random,
                   int *fd_out, uint16_t *port_out, int *next_fd_out)
{
	uint32_t span, start, i;

	if (request->port_min > request->port_max)
		return EINVAL;
	span = (uint32_t)request->port_max - request->port_min + 1;
	start = random % span;
	for (i = 0; i < span; i++) {
		uint32_t offset = (start + i) % span;
		uint16_t port = (uint16_t)(request->port_min + offset);
		int err;

		if (request->even_port &&
		    ((port & 1) != 0 || port == request->port_max))
			continue;
		err = try_relay_port(request, port, fd_out, next_fd_out);
		if (err == 0) {
			*port_out = port;
			return 0;
		}
		if (err != EADDRINUSE && err != EACCES)
			return err;
	}
	return EADDRINUSE;
}

int net_tcp_listen(const struct sockaddr *addr, socklen_t addr_len, int backlog,
                   int *fd_out)
{
	/* Every worker listens on the same port (DESIGN.md section 2); the
	 * kernel hashes each new connection to one of them. SO_REUSEADDR
	 * lets a restart bind while old connections sit in TIME_WAIT. */
	struct net_udp_options options = {.reuseport = true, .v6only = true};
	int fd, err;

	fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	            0);
	if (fd < 0)
		return errno;
	err = apply_options(fd, addr->sa_family, &options);
	if (err == 0)
		err = set_int_option(fd, SOL_SOCKET, SO_REUSEADDR, 1);
	if (err == 0 &&
	    (bind(fd, addr, addr_len) != 0 || listen(fd, backlog) != 0))
		err = errno;
	if (err != 0) {
		close(fd);
		return err;
	}
	*fd_out = fd;
	return 0;
}

int net_tcp_accepted(int fd, int sndbuf)
{
	int err = set_int_option(fd, IPPROTO_TCP, TCP_NODELAY, 1);

	if (err == 0 && sndbuf > 0)
		err = set_int_option(fd, SOL_SOCKET, SO_SNDBUF, sndbuf);
	return err;
}

int net_tcp_reset_on_close(int fd)
{
	struct linger reset = {.l_onoff = 1, .l_linger = 0};

	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset)) != 0)
		return errno;
	return 0;
}

int net_set_dont_fragment(int fd, int family, bool on)
{
	if (family == AF_INET6)
		return set_int_option(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER,
		                      on ? IPV6_PMTUDISC_DO
		                         : IPV6_PMTUDISC_DONT);
	return set_int_option(fd, IPPROTO_IP, IP_MTU_DISCOVER,
	                      on ? IP_PMTUDISC_DO : IP_PMTUDISC_DONT);
}

int net_relay_hold(int fd)
{
	struct sockaddr_storage self;
	socklen_t len = sizeof(self);

	/* Connected to itself: it matches no datagram from anyone else, so
	 * it holds the port without taking the traffic of the socket that
	 * later joins it. */
	if (getsockname(fd, (struct sockaddr *)&self, &len) != 0 ||
	    connect(fd, (struct sockaddr *)&self, len) != 0)
		return errno;
	return 0;
}

int net_relay_redeem(const struct sockaddr *addr, uint16_t port,
                     const struct net_udp_options *options, int *fd_out)
{
	struct net_udp_options joining = *options;
	int fd = -1, err, off = 0;

	joining.reuseport = true;
	err = net_udp_bind_port(addr, port, &joining, &fd);
	if (err != 0)
		return err;
	/* Nobody may join after us: a second redemption of the same token
	 * now fails with EADDRINUSE. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &off, sizeof(off)) != 0) {
		err = errno;
		close(fd);
		return err;
	}
	*fd_out = fd;
	return 0;
}
