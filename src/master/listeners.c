/*
 * Listener sockets: one per worker per `listen` entry, all bound to the
 * same address with SO_REUSEPORT, so that the kernel spreads new clients
 * over the workers (DESIGN.md section 2).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "turnpike/log.h"
#include "turnpike/net.h"
#include "master_private.h"

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

	err = net_udp_bind((const struct sockaddr *)&listen->addr,
	                   listen->addr_len, &options, fd);
	if (err != 0)
		log_msg(LOG_ERR, "cannot listen on udp://%s: %s",
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

		/* TCP and TLS clients are served by a later version. */
		if (listen->transport != CONF_TRANSPORT_UDP)
			continue;
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
	char name[NET_ADDRSTRLEN];
	size_t i;
	int err;

	for (i = 0; i < master->conf->listen_count; i++) {
		const struct conf_listen *listen = &master->conf->listens[i];

		net_addr_format((const struct sockaddr *)&listen->addr, name,
		                sizeof(name));
		if (listen->transport == CONF_TRANSPORT_UDP)
			log_info("listening on udp://%s with %zu workers", name,
			         master->worker_count);
		else
			log_msg(LOG_WARNING,
			        "%s://%s: TCP and TLS clients are not served "
			        "yet; skipped",
			        listen->transport == CONF_TRANSPORT_TCP ? "tcp"
			                                                : "tls",
			        name);
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
