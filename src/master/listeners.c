/*
 * Listener sockets: one per worker per `listen` entry, all bound to the
 * same address with SO_REUSEPORT, so that the kernel spreads new clients
 * (datagrams, or TCP connections) over the workers (DESIGN.md section 2).
 * Each generation of workers has its own set (DESIGN.md section 7).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "turnpike/log.h"
#include "turnpike/net.h"
#include "turnpike/tls.h"
#include "master_private.h"

/* Connections the kernel completes for one worker before it accepts
 * them; SOMAXCONN caps it. */
#define LISTEN_BACKLOG 1024

static const char *const transport_names[] = {
    [CONF_TRANSPORT_UDP] = "udp",
    [CONF_TRANSPORT_TCP] = "tcp",
    [CONF_TRANSPORT_TLS] = "tls",
};

static bool same_listen(const struct conf_listen *a,
                        const struct conf_listen *b)
{
	return a->transport == b->transport && a->addr_len == b->addr_len &&
	       memcmp(&a->addr, &b->addr, a->addr_len) == 0;
}

static int bind_one(const struct conf *conf, const struct conf_listen *listen,
                    bool reuseport, int *fd)
{
	struct net_udp_options options = {
	    .rcvbuf = conf->listener_rcvbuf,
	    .sndbuf = conf->listener_sndbuf,
	    .reuseport = reuseport,
	    .v6only = true,
	};

	if (listen->transport == CONF_TRANSPORT_UDP)
		return net_udp_bind((const struct sockaddr *)&listen->addr,
		                    listen->addr_len, &options, fd);
	return net_tcp_listen((const struct sockaddr *)&listen->addr,
	                      listen->addr_len, LISTEN_BACKLOG, fd);
}

/* The socket of a current-generation slot for the same address, if its
 * buffers are what conf asks for: -1 when there is none to share.
 *
 * TCP and TLS listeners are shared, so that the connections waiting in
 * their accept queues survive the change. UDP listeners are not: since
 * Linux 6.13 a socket bound while connected sockets share the port
 * forms a reuseport group apart from the old listeners (see
 * plant_seeds), and the kernel then hands new clients to that group
 * alone; a shared old socket would be left in a group that gets no new
 * client. */
static int shareable(const struct master *master, const struct conf *conf,
                     const struct master_worker *old,
                     const struct conf_listen *listen)
{
	size_t i;

	if (old == NULL || listen->transport == CONF_TRANSPORT_UDP ||
	    conf->listener_rcvbuf != master->conf->listener_rcvbuf ||
	    conf->listener_sndbuf != master->conf->listener_sndbuf)
		return -1;
	for (i = 0; i < old->listener_count; i++)
		if (old->listeners[i].fd >= 0 &&
		    same_listen(old->listeners[i].listen, listen))
			return old->listeners[i].fd;
	return -1;
}

static int bind_slot(struct master *master, const struct conf *conf,
                     struct master_worker *slot,
                     const struct master_worker *old)
{
	char name[NET_ADDRSTRLEN];
	size_t i;
	int err, fd;

	slot->listeners = calloc(conf->listen_count, sizeof(*slot->listeners));
	if (slot->listeners == NULL)
		return ENOMEM;
	for (i = 0; i < conf->listen_count; i++) {
		const struct conf_listen *listen = &conf->listens[i];
		struct worker_listener_fd *out =
		    &slot->listeners[slot->listener_count];

		fd = shareable(master, conf, old, listen);
		if (fd >= 0)
			err = (out->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0
			          ? errno
			          : 0;
		else
			err = bind_one(conf, listen, true, &out->fd);
		if (err != 0) {
			log_msg(LOG_ERR,
			        "listen failed address=%s://%s error=%s",
			        transport_names[listen->transport],
			        net_addr_format(
			            (const struct sockaddr *)&listen->addr,
			            name, sizeof(name)),
			        LOG_QUOTED(strerror(err)));
			return err;
		}
		out->listen = listen;
		slot->listener_count++;
	}
	return slot->listener_count > 0 ? 0 : ENOENT;
}

/* The current generation's serving slots in slot order: the k-th slot of
 * a new generation shares the sockets of the k-th of these. */
static size_t current_slots(const struct master *master,
                            const struct master_worker **out)
{
	size_t i, n = 0;

	for (i = 0; i < MASTER_SLOTS; i++) {
		const struct master_worker *w = &master->workers[i];

		if (w->in_use && !w->draining &&
		    w->generation == master->generation &&
		    w->listener_count > 0)
			out[n++] = w;
	}
	return n;
}

static void log_listens(const struct conf *conf, size_t count)
{
	char name[NET_ADDRSTRLEN];
	size_t i;

	for (i = 0; i < conf->listen_count; i++) {
		const struct conf_listen *listen = &conf->listens[i];

		net_addr_format((const struct sockaddr *)&listen->addr, name,
		                sizeof(name));
		log_info("listening address=%s://%s workers=%zu",
		         transport_names[listen->transport], name, count);
	}
}

/*
 * DESIGN.md section 2, "Know the kernel". Since Linux 6.13 connect()
 * takes a UDP socket out of its reuseport group (the 4-tuple hash finds
 * it instead), but it stays in the port's hash chain with SO_REUSEPORT
 * set, and a socket bound later joins the group of the newest socket
 * bound to the same address (udp_reuseport_add_sock), connected or not.
 * So the first listener a new generation binds while allocations are
 * live makes a new group with some client's connected socket; the other
 * new listeners join it; and for IPv4, where a new socket goes to the
 * head of the chain, that group answers every new client before the
 * old listeners' group is looked at. The connected member takes no
 * client itself, but the hash pick walks past it to the next socket,
 * which gets twice its share.
 *
 * The seed is a socket the master binds to each UDP address just before
 * the new listeners and connect()s to itself, which takes it out of any
 * group: the first new listener then gathers around the seed, and
 * closing the seed once they are bound leaves them a group of their
 * own. Best effort: a worker binding a client socket in between can
 * still become the newest; a failed seed is simply not planted. Returns
 * one descriptor or -1 per listen entry, or NULL.
 */
static int *plant_seeds(const struct conf *conf)
{
	int *seeds = calloc(conf->listen_count, sizeof(*seeds));
	size_t i;

	for (i = 0; seeds != NULL && i < conf->listen_count; i++) {
		const struct conf_listen *listen = &conf->listens[i];

		seeds[i] = -1;
		/* A wildcard seed connected to itself is rehashed to a
		 * loopback address and seeds nothing; wildcard groups hold
		 * no connected sockets anyway (client sockets are bound to
		 * the address the client wrote to). */
		if (listen->transport != CONF_TRANSPORT_UDP ||
		    net_addr_unspecified(
		        (const struct sockaddr *)&listen->addr) ||
		    bind_one(conf, listen, true, &seeds[i]) != 0)
			continue;
		if (net_relay_hold(seeds[i]) != 0) {
			close(seeds[i]);
			seeds[i] = -1;
		}
	}
	return seeds;
}

static void remove_seeds(const struct conf *conf, int *seeds)
{
	size_t i;

	for (i = 0; seeds != NULL && i < conf->listen_count; i++)
		if (seeds[i] >= 0)
			close(seeds[i]);
	free(seeds);
}

void master_steer_open(struct master *master)
{
	int err = net_steer_open(&master->steer);

	if (err == 0) {
		log_info("steering loaded programs=%d", NET_STEER_GROUPS);
		return;
	}
	master->steer = NULL;
	log_msg(LOG_WARNING,
	        "steering unavailable error=%s reason=\"new UDP clients are "
	        "left to the kernel's reuseport hash, which connected "
	        "sockets skew before Linux 6.13; bpf() needs root or "
	        "CAP_BPF (CAP_SYS_ADMIN before Linux 5.8)\"",
	        LOG_QUOTED(strerror(err)));
}

void master_steer_settle(struct master *master)
{
	int err;

	if (master->steer == NULL)
		return;
	err = net_steer_probe(master->steer);
	if (err == 0) {
		if (master_forget_bpf_capability() != 0)
			log_warn("CAP_BPF drop failed");
		else
			log_info("steering maps need no capability on this "
			         "kernel: CAP_BPF dropped");
		return;
	}
	log_info("steering keeps CAP_BPF as a permitted capability, raised "
	         "only to update the maps: this kernel refuses bpf() "
	         "without it error=%s",
	         LOG_QUOTED(strerror(err)));
}

/* The g-th UDP address of conf steers to row g: the new slots' sockets
 * for it, in slot order. Past NET_STEER_GROUPS addresses, or when a row
 * cannot be set, the kernel's hash decides. */
static void steer_generation(struct master *master, const struct conf *conf,
                             const size_t *slots, size_t count)
{
	char name[NET_ADDRSTRLEN];
	int fds[CONF_WORKERS_MAX], err;
	unsigned group = 0;
	size_t i, k;

	if (master->steer == NULL)
		return;
	/* A no-op unless this kernel needs it (master_steer_settle). */
	if (master_bpf_capability(true) != 0)
		log_warn("CAP_BPF raise failed");
	for (i = 0; i < conf->listen_count; i++) {
		const struct conf_listen *listen = &conf->listens[i];

		if (listen->transport != CONF_TRANSPORT_UDP)
			continue;
		for (k = 0; k < count; k++)
			fds[k] = master->workers[slots[k]].listeners[i].fd;
		err = group < NET_STEER_GROUPS
		          ? net_steer_set(master->steer, group, fds, count)
		          : ENOSPC;
		group++;
		if (err == 0)
			continue;
		log_msg(LOG_WARNING,
		        "steering failed address=udp://%s error=%s",
		        net_addr_format((const struct sockaddr *)&listen->addr,
		                        name, sizeof(name)),
		        LOG_QUOTED(strerror(err)));
	}
	(void)master_bpf_capability(false);
}

int master_bind_listeners(struct master *master, const struct conf *conf,
                          const size_t *slots, size_t count)
{
	const struct master_worker *old[MASTER_SLOTS];
	size_t i, old_count = current_slots(master, old);
	char tls_err[512];
	int err = 0, *seeds;

	/* The workers build their own TLS contexts; the master tries once
	 * first, as the user the workers run as (privileges are dropped by
	 * now), so that an unreadable key or a bad cipher string stops the
	 * start with the reason instead of failing every worker. */
	if (tls_check(conf, tls_err, sizeof(tls_err)) != 0) {
		log_msg(LOG_ERR, "tls setup refused error=%s",
		        LOG_QUOTED(tls_err));
		return EINVAL;
	}
	seeds = plant_seeds(conf);
	for (i = 0; i < count && err == 0; i++)
		err = bind_slot(master, conf, &master->workers[slots[i]],
		                i < old_count ? old[i] : NULL);
	remove_seeds(conf, seeds);
	if (err != 0) {
		for (i = 0; i < count; i++)
			master_close_slot_listeners(&master->workers[slots[i]]);
		return err;
	}
	steer_generation(master, conf, slots, count);
	log_listens(conf, count);
	return 0;
}

/* a is on b's port and address, or on a wildcard of the same family
 * and port that covers it, or the other way round: a bind of one finds
 * the other in the way. */
static bool overlaps(const struct conf_listen *a, const struct conf_listen *b)
{
	const struct sockaddr *x = (const struct sockaddr *)&a->addr;
	const struct sockaddr *y = (const struct sockaddr *)&b->addr;

	if (a->transport != b->transport || x->sa_family != y->sa_family ||
	    net_addr_port(x) != net_addr_port(y))
		return false;
	return net_addr_unspecified(x) || net_addr_unspecified(y) ||
	       same_listen(a, b);
}

/* Bound by one of our workers: a listener, or a draining worker's
 * allocation sockets (for a wildcard listener, on the host's addresses:
 * hence overlaps, not equality). */
static bool held(const struct master *master, const struct conf_listen *listen)
{
	size_t i, j;

	for (i = 0; i < MASTER_SLOTS; i++) {
		const struct master_worker *w = &master->workers[i];

		for (j = 0; j < w->listener_count; j++)
			if (w->listeners[j].fd >= 0 &&
			    overlaps(w->listeners[j].listen, listen))
				return true;
		for (j = 0; j < w->drained_count; j++)
			if (overlaps(&w->drained[j], listen))
				return true;
	}
	return false;
}

/* A bind without SO_REUSEPORT fails on an address where any socket is
 * bound, reuseport or not. UDP only: a TCP port in TIME_WAIT would look
 * taken. */
int master_check_listeners_free(const struct master *master,
                                const struct conf *conf)
{
	char name[NET_ADDRSTRLEN];
	size_t i;
	int err, fd;

	for (i = 0; i < conf->listen_count; i++) {
		const struct conf_listen *listen = &conf->listens[i];

		if (listen->transport != CONF_TRANSPORT_UDP ||
		    held(master, listen))
			continue;
		err = bind_one(conf, listen, false, &fd);
		if (err == 0) {
			close(fd);
			continue;
		}
		if (err != EADDRINUSE)
			continue; /* binding itself will say why */
		log_msg(LOG_ERR,
		        "listen refused address=udp://%s reason=\"another "
		        "process (another turnpiked?) is bound to it\"",
		        net_addr_format((const struct sockaddr *)&listen->addr,
		                        name, sizeof(name)));
		return EADDRINUSE;
	}
	return 0;
}

void master_retire_slot_listeners(struct master_worker *slot)
{
	size_t i;

	free(slot->drained);
	slot->drained_count = 0;
	/* Without memory the probe may refuse the address while this slot
	 * drains: a refused reload, nothing worse. */
	slot->drained = calloc(slot->listener_count, sizeof(*slot->drained));
	for (i = 0; slot->drained != NULL && i < slot->listener_count; i++)
		slot->drained[slot->drained_count++] =
		    *slot->listeners[i].listen;
	master_close_slot_listeners(slot);
}

void master_close_slot_listeners(struct master_worker *slot)
{
	size_t i;

	for (i = 0; i < slot->listener_count; i++)
		if (slot->listeners[i].fd >= 0)
			close(slot->listeners[i].fd);
	free(slot->listeners);
	slot->listeners = NULL;
	slot->listener_count = 0;
}

void master_close_other_listeners(struct master *master, size_t keep)
{
	size_t i;

	net_steer_close(master->steer);
	master->steer = NULL;
	for (i = 0; i < MASTER_SLOTS; i++) {
		if (i != keep)
			master_close_slot_listeners(&master->workers[i]);
	}
}

void master_close_listeners(struct master *master)
{
	size_t i;

	for (i = 0; master->workers != NULL && i < MASTER_SLOTS; i++)
		master_close_slot_listeners(&master->workers[i]);
}

void master_rebase_listeners(struct master *master, const struct conf *old,
                             const struct conf *fresh)
{
	size_t i, j, k;

	for (i = 0; i < MASTER_SLOTS; i++) {
		struct master_worker *w = &master->workers[i];

		for (j = 0; j < w->listener_count; j++) {
			k = (size_t)(w->listeners[j].listen - old->listens);
			if (k < fresh->listen_count)
				w->listeners[j].listen = &fresh->listens[k];
		}
	}
}
