/*
 * The worker's TCP and TLS side: accepting on its own listening sockets
 * (DESIGN.md section 2: the kernel spreads new connections over the
 * workers' SO_REUSEPORT sockets; a connection belongs to the worker that
 * accepted it), the bounds on connections that have no allocation yet,
 * their timeouts, and the TLS context with its reload.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>

#include <event2/event.h>

#include "turnpike/log.h"
#include "turnpike/net.h"
#include "turnpike/tls.h"
#include "stream.h"

static struct log_limit accept_log_limit = LOG_LIMIT_INIT(5, 10000);

static bool is_stream_listener(const struct worker_socket *socket)
{
	return socket->transport != CONF_TRANSPORT_UDP && socket->event != NULL;
}

/* Out of descriptors: the listening sockets are not watched for a second
 * (else a readable listener with nothing to accept with would spin);
 * connections wait in the kernel's backlog meanwhile. */
static void pause_accepting(struct worker *worker)
{
	size_t i;

	for (i = 0; i < worker->listener_count; i++)
		if (is_stream_listener(&worker->listeners[i]))
			event_del(worker->listeners[i].event);
	if (!evtimer_pending(worker->streams->resume_accept, NULL)) {
		struct timeval second = {1, 0};

		evtimer_add(worker->streams->resume_accept, &second);
	}
	log_limited(&accept_log_limit, LOG_WARNING,
	            "out of descriptors: not accepting TCP or TLS clients "
	            "for a second");
}

static void on_resume_accept(evutil_socket_t fd, short what, void *arg)
{
	struct worker *worker = arg;
	size_t i;

	for (i = 0; i < worker->listener_count; i++)
		if (is_stream_listener(&worker->listeners[i]))
			event_add(worker->listeners[i].event, NULL);
}

static uint32_t source_slot(const struct stream_set *set,
                            const struct sockaddr_storage *peer)
{
	struct sockaddr_storage ip;

	memcpy(&ip, peer, sizeof(ip));
	net_addr_set_port((struct sockaddr *)&ip, 0);
	return (
	    uint32_t)(net_addr_hash((struct sockaddr *)&ip, set->source_key) %
	              STREAM_SOURCE_SLOTS);
}

/* No socket before authentication is the UDP rule (DESIGN.md section
 * 2); a TCP client has a socket before it can say anything, so the
 * connections that have not allocated yet are bounded instead: per
 * source address (the newcomer is refused), in total (the oldest one
 * makes room: a real client allocates within a round trip or two, so a
 * flood from many sources must outpace it to lock it out), and in time
 * (stream_tick). */
static bool admit(struct worker *worker, uint32_t slot)
{
	const struct conf *conf = worker->conf;
	struct stream_set *set = worker->streams;

	if (worker->draining ||
	    set->per_source[slot] >= conf->stream_max_pending_per_source)
		return false;
	while (set->pending.count >= conf->stream_max_pending) {
		worker->metrics->streams_evicted++;
		stream_close(set->pending.head);
	}
	return true;
}

static bool accept_one(struct worker *worker, struct worker_socket *listener)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	uint32_t slot;
	int fd;

	fd = accept4(listener->fd, (struct sockaddr *)&peer, &len,
	             SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			worker->metrics->streams_refused++;
			pause_accepting(worker);
			return false;
		}
		/* EAGAIN: done; ECONNABORTED and the like: the next one. */
		return errno != EAGAIN && errno != EWOULDBLOCK;
	}
	slot = source_slot(worker->streams, &peer);
	if (!admit(worker, slot) ||
	    stream_open(worker, listener, fd, &peer, slot) != 0) {
		worker->metrics->streams_refused++;
		close(fd);
	}
	return true;
}

void stream_accept(int fd, short what, void *arg)
{
	struct worker_socket *listener = arg;
	unsigned i;

	for (i = 0; i < STREAM_ACCEPTS_PER_EVENT; i++)
		if (!accept_one(listener->worker, listener))
			break;
}

void stream_tick(struct worker *worker, uint64_t now)
{
	const struct conf *conf = worker->conf;
	struct stream_set *set = worker->streams;
	struct stream_conn *conn, *next;
	uint64_t first = conf->stream_auth_timeout;

	if (set == NULL)
		return;
	if (conf->tls_handshake_timeout < first)
		first = conf->tls_handshake_timeout;
	/* Oldest first: past the first one that cannot be due yet, none
	 * is. Whole seconds of a coarse clock: "more than the timeout"
	 * gives a client at least the time configured, at most 1 s more. */
	for (conn = set->pending.head;
	     conn != NULL && conn->since + first < now; conn = next) {
		next = conn->next;
		if (now > conn->since + conf->stream_auth_timeout ||
		    (conn->handshaking &&
		     now > conn->since + conf->tls_handshake_timeout)) {
			worker->metrics->streams_timed_out++;
			stream_close(conn);
		}
	}
}

static bool serves_tls(const struct worker *worker)
{
	size_t i;

	for (i = 0; i < worker->listener_count; i++)
		if (worker->listeners[i].transport == CONF_TRANSPORT_TLS)
			return true;
	return false;
}

static void log_certificate(SSL_CTX *ctx, const char *what)
{
	char fingerprint[128];

	log_info(
	    "%s TLS certificate sha256 %s", what,
	    tls_context_fingerprint(ctx, fingerprint, sizeof(fingerprint)));
}

int stream_setup(struct worker *worker)
{
	struct stream_set *set = calloc(1, sizeof(*set));
	char err[512];

	if (set == NULL)
		return ENOMEM;
	worker->streams = set;
	set->source_key = worker_random(worker);
	set->resume_accept =
	    evtimer_new(worker->base, on_resume_accept, worker);
	if (set->resume_accept == NULL)
		return ENOMEM;
	if (!serves_tls(worker))
		return 0;
	if (tls_context_new(worker->conf, &set->tls_ctx, err, sizeof(err)) !=
	    0) {
		log_warnx("%s", err);
		return EINVAL;
	}
	log_certificate(set->tls_ctx, "serving");
	return 0;
}

int stream_reload(struct worker *worker, const struct conf *fresh, char *err,
                  size_t err_size)
{
	struct stream_set *set = worker->streams;
	SSL_CTX *ctx;

	if (set == NULL || set->tls_ctx == NULL)
		return 0;
	/* A broken certificate or key refuses the whole reload: the old
	 * context keeps serving. Live connections keep theirs either way
	 * (each SSL holds a reference to its SSL_CTX). */
	if (tls_context_new(fresh, &ctx, err, err_size) != 0)
		return EINVAL;
	SSL_CTX_free(set->tls_ctx);
	set->tls_ctx = ctx;
	log_certificate(ctx, "new connections get the");
	return 0;
}

void stream_free_all(struct worker *worker)
{
	struct stream_set *set = worker->streams;

	if (set == NULL)
		return;
	while (set->pending.head != NULL)
		stream_close(set->pending.head);
	while (set->active.head != NULL)
		stream_close(set->active.head);
	if (set->resume_accept != NULL)
		event_free(set->resume_accept);
	SSL_CTX_free(set->tls_ctx);
	free(set);
	worker->streams = NULL;
}
