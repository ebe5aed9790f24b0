/*
 * Listener sockets: one per worker per `listen` entry, all bound to the
 * same address with SO_REUSEPORT, so that the kernel spreads new clients
 * (datagrams, or TCP connections) over the workers (DESIGN.md section 2).
 */
#include "config.h"

#include <errno.h>
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

static int bind_one(const struct conf *conf, const struct conf_listen *listen,
                    int *fd)
{
	struct net_udp_options options = {
	    .rcvbuf = conf->listener_rcvbuf,
	    .sndbuf = conf->listener_sndbuf,
	    .reuseport = true,
	    .v6only = true,
	};
	char name[NET_ADDRSTRLEN];
	int err;

	if (listen->transport == CONF_TRANSPORT_UDP)
		err = net_udp_bind((const struct sockaddr *)&listen->addr,
		                   listen->addr_len, &options, fd);
	else
		err = net_tcp_listen((const struct sockaddr *)&listen->addr,
		                     listen->addr_len, LISTEN_BACKLOG, fd);
	if (err != 0)
		log_msg(LOG_ERR, "cannot listen on %s://%s: %s",
		        transport_names[listen->transport],
		        net_addr_format((const struct sockaddr *)&listen->addr,
		                        name, sizeof(name)),
		        strerror(err));
	return err;
}

static int bind_slot(struct master *master, struct master_worker *slot)
{
	const struct conf *conf = master->conf;
	size_t i;
	int err;

	slot->listeners = calloc(conf->listen_count, sizeof(*slot->listeners));
	if (slot->listeners == NULL)
		return ENOMEM;
	for (i = 0; i < conf->listen_count; i++) {
		const struct conf_listen *listen = &conf->listens[i];
		struct worker_listener_fd *fd =
		    &slot->listeners[slot->listener_count];

		err = bind_one(conf, listen, &fd->fd);
		if (err != 0)
			return err;
		fd->listen = listen;
		slot->listener_count++;
	}
	return 0;
}

int master_bind_listeners(struct master *master)
{
	char name[NET_ADDRSTRLEN], tls_err[512];
	size_t i;
	int err;

	/* The workers build their own TLS contexts; the master tries once
	 * first, as the user the workers run as (privileges are dropped by
	 * now), so that an unreadable key or a bad cipher string stops the
	 * start with the reason instead of failing every worker. */
	if (tls_check(master->conf, tls_err, sizeof(tls_err)) != 0) {
		log_msg(LOG_ERR, "%s", tls_err);
		return EINVAL;
	}
	for (i = 0; i < master->conf->listen_count; i++) {
		const struct conf_listen *listen = &master->conf->listens[i];

		log_info("listening on %s://%s with %zu workers",
		         transport_names[listen->transport],
		         net_addr_format((const struct sockaddr *)&listen->addr,
		                         name, sizeof(name)),
		         master->worker_count);
	}
	for (i = 0; i < master->worker_count; i++) {
		err = bind_slot(master, &master->workers[i]);
		if (err != 0)
			return err;
	}
	return master->workers[0].listener_count > 0 ? 0 : ENOENT;
}

static void close_slot(struct master_worker *slot)
{
	size_t i;

	for (i = 0; i < slot->listener_count; i++)
		close(slot->listeners[i].fd);
	free(slot->listeners);
	slot->listeners = NULL;
	slot->listener_count = 0;
}

void master_close_other_listeners(struct master *master, size_t keep)
{
	size_t i;

	for (i = 0; i < master->worker_count; i++) {
		if (i != keep)
			close_slot(&master->workers[i]);
	}
}

void master_close_listeners(struct master *master)
{
	size_t i;

	for (i = 0; master->workers != NULL && i < master->worker_count; i++)
		close_slot(&master->workers[i]);
}
