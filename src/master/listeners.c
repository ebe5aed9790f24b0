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
 * buffers are what conf asks for: -1 when there is none to share. */
static int shareable(const struct master *master, const struct conf *conf,
                     const struct master_worker *old,
                     const struct conf_listen *listen)
{
	size_t i;

	if (old == NULL ||
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

int master_bind_listeners(struct master *master, const struct conf *conf,
                          const size_t *slots, size_t count)
{
	const struct master_worker *old[MASTER_SLOTS];
	size_t i, old_count = current_slots(master, old);
	char tls_err[512];
	int err = 0;

	/* The workers build their own TLS contexts; the master tries once
	 * first, as the user the workers run as (privileges are dropped by
	 * now), so that an unreadable key or a bad cipher string stops the
	 * start with the reason instead of failing every worker. */
	if (tls_check(conf, tls_err, sizeof(tls_err)) != 0) {
		log_msg(LOG_ERR, "tls setup refused error=%s",
		        LOG_QUOTED(tls_err));
		return EINVAL;
	}
	for (i = 0; i < count && err == 0; i++)
		err = bind_slot(master, conf, &master->workers[slots[i]],
		                i < old_count ? old[i] : NULL);
	if (err != 0) {
		for (i = 0; i < count; i++)
			master_close_slot_listeners(&master->workers[slots[i]]);
		return err;
	}
	log_listens(conf, count);
	return 0;
}

static bool held(const struct master *master, const struct conf_listen *listen)
{
	size_t i, j;

	for (i = 0; i < MASTER_SLOTS; i++) {
		const struct master_worker *w = &master->workers[i];

		for (j = 0; j < w->listener_count; j++)
			if (w->listeners[j].fd >= 0 &&
			    same_listen(w->listeners[j].listen, listen))
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
