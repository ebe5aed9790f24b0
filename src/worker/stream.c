/*
 * One TCP or TLS client connection: framing, serving, queueing and the
 * tie between the connection and its allocation (RFC 8656 §3.1, §12.5).
 *
 * Callbacks are deferred (BEV_OPT_DEFER_CALLBACKS): a write queued from
 * the relay path or from a response can never run a callback that frees
 * the connection under its caller; only the callbacks below, the tick
 * and the worker's exit call stream_close().
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "turnpike/log.h"
#include "turnpike/net.h"
#include "allocation.h"
#include "relay.h"
#include "stream.h"

static struct log_limit stream_log_limit = LOG_LIMIT_INIT(10, 1000);

void stream_list_append(struct stream_list *list, struct stream_conn *conn)
{
	conn->next = NULL;
	conn->prev = list->tail;
	if (list->tail != NULL)
		list->tail->next = conn;
	else
		list->head = conn;
	list->tail = conn;
	list->count++;
}

void stream_list_remove(struct stream_list *list, struct stream_conn *conn)
{
	if (conn->prev != NULL)
		conn->prev->next = conn->next;
	else
		list->head = conn->next;
	if (conn->next != NULL)
		conn->next->prev = conn->prev;
	else
		list->tail = conn->prev;
	conn->prev = conn->next = NULL;
	list->count--;
}

static struct stream_set *set_of(const struct stream_conn *conn)
{
	return conn->socket.worker->streams;
}

/* The pending bounds count connections without an allocation. */
static void make_pending(struct stream_conn *conn, uint64_t now)
{
	struct stream_set *set = set_of(conn);

	conn->pending = true;
	conn->since = now;
	set->per_source[conn->source_slot]++;
	stream_list_append(&set->pending, conn);
}

static void leave_pending(struct stream_conn *conn)
{
	struct stream_set *set = set_of(conn);

	conn->pending = false;
	set->per_source[conn->source_slot]--;
	stream_list_remove(&set->pending, conn);
}

/* Back-pressure (DESIGN.md section 2): while the client's queue is above
 * half the bound, its relay sockets are not read; datagrams wait in the
 * kernel's buffer, and past it the kernel drops them as a congested link
 * would. The write callback resumes at a quarter. */
static void pause_relays(struct stream_conn *conn)
{
	struct allocation *a = conn->socket.allocation;
	size_t i;

	if (a == NULL || conn->paused)
		return;
	for (i = 0; i < 2; i++)
		if (a->relay[i].event != NULL)
			event_del(a->relay[i].event);
	conn->paused = true;
	conn->socket.worker->metrics->stream_pauses++;
}

static void resume_relays(struct stream_conn *conn)
{
	struct allocation *a = conn->socket.allocation;
	size_t i;

	conn->paused = false;
	if (a == NULL)
		return;
	for (i = 0; i < 2; i++)
		if (a->relay[i].event != NULL) {
			event_add(a->relay[i].event, NULL);
			/* Edge triggered: what arrived while paused raised
			 * no new edge. */
			event_active(a->relay[i].event, EV_READ, 0);
		}
}

/* Past half the bound the relay stops reading (resumed in on_write()).
 * Asked after every queueing, sent or dropped, and at stream_attach(): a
 * queue can pass half while there is no allocation to pause (responses
 * before it, or before a second Allocate). */
static void pause_when_over_half(struct stream_conn *conn)
{
	if (evbuffer_get_length(bufferevent_get_output(conn->bev)) >
	    conn->output_limit / 2)
		pause_relays(conn);
}

/* Queues length bytes and the padding a ChannelData message needs on a
 * stream (RFC 8656 §12.5); STUN messages are multiples of 4 already.
 * Returns false when dropped for the bound. */
static bool queue(struct stream_conn *conn, const uint8_t *data, size_t length)
{
	static const uint8_t zeros[3];
	size_t pad = (data[0] & 0xC0) == 0x40 ? (4 - length % 4) % 4 : 0;
	size_t after;
	bool queued;

	if (conn->closing)
		return false;
	after = evbuffer_get_length(bufferevent_get_output(conn->bev)) +
	        length + pad;
	queued = after <= conn->output_limit &&
	         bufferevent_write(conn->bev, data, length) == 0 &&
	         (pad == 0 || bufferevent_write(conn->bev, zeros, pad) == 0);
	if (!queued)
		conn->socket.worker->metrics->stream_drops++;
	pause_when_over_half(conn);
	return queued;
}

void stream_send(struct stream_conn *conn, const uint8_t *data, size_t length)
{
	(void)queue(conn, data, length);
}

bool stream_send_relayed(struct stream_conn *conn, const uint8_t *message,
                         size_t length, size_t payload)
{
	if (queue(conn, message, length) && conn->socket.allocation != NULL)
		allocation_count_relayed(conn->socket.allocation,
		                         LIMITER_TO_CLIENT, 1, payload);
	return !conn->paused;
}

unsigned stream_relay_room(const struct stream_conn *conn, size_t pending)
{
	size_t queued, room;

	if (conn->paused || conn->closing)
		return 0;
	/* A datagram fills at most one receive buffer, and its frame
	 * (ChannelData or Data indication, padded) fits that buffer too:
	 * the headroom covers the headers. */
	queued =
	    evbuffer_get_length(bufferevent_get_output(conn->bev)) + pending;
	room = queued < conn->output_limit ? conn->output_limit - queued : 0;
	room /= WORKER_BUFFER_SIZE;
	if (room == 0)
		return 1;
	return room < WORKER_BATCH ? (unsigned)room : WORKER_BATCH;
}

uint8_t stream_transport(const struct stream_conn *conn)
{
	return conn->tls ? STUN_TRANSPORT_TLS : STUN_TRANSPORT_TCP;
}

void stream_client_socket(struct stream_conn *conn,
                          struct worker_socket *socket)
{
	*socket = conn->socket;
	socket->allocation = NULL;
}

void stream_attach(struct stream_conn *conn, struct allocation *allocation)
{
	conn->socket.allocation = allocation;
	pause_when_over_half(conn);
	if (conn->pending) {
		leave_pending(conn);
		stream_list_append(&set_of(conn)->active, conn);
	}
}

void stream_detach(struct stream_conn *conn)
{
	conn->socket.allocation = NULL;
	conn->paused = false;
	if (conn->closing || conn->pending)
		return;
	/* RFC 8656 leaves the connection open after its allocation is
	 * gone; it may Allocate again within stream-auth-timeout. */
	stream_list_remove(&set_of(conn)->active, conn);
	make_pending(conn, worker_now());
}

void stream_close(struct stream_conn *conn)
{
	struct worker *worker = conn->socket.worker;

	conn->closing = true;
	/* RFC 8656 §3.1: the allocation goes with its connection. */
	if (conn->socket.allocation != NULL)
		allocation_free(conn->socket.allocation, ALLOCATION_CLOSED);
	if (conn->pending)
		leave_pending(conn);
	else
		stream_list_remove(&worker->streams->active, conn);
	bufferevent_free(conn->bev);
	worker->metrics->streams_live--;
	free(conn);
}

/* The 5-tuple's local side: for a wildcard listener, the host address the
 * client connected to. */
static void local_address(int fd, const struct worker_socket *listener,
                          struct sockaddr_storage *local)
{
	socklen_t length = sizeof(*local);

	if (!net_addr_unspecified((const struct sockaddr *)&listener->local) ||
	    getsockname(fd, (struct sockaddr *)local, &length) != 0)
		memcpy(local, &listener->local, sizeof(*local));
}

/* One message cut from the stream, served as a datagram would be: with
 * an allocation, to its peers in batches (relay.h); without, to the
 * service. */
static void serve_frame(struct stream_conn *conn,
                        struct relay_client_batch *client, uint8_t *data,
                        size_t length, struct sockaddr_storage *peer)
{
	struct worker *worker = conn->socket.worker;
	struct worker_datagram dg = {
	    .socket = &conn->socket,
	    .from = (const struct sockaddr *)&conn->peer,
	    .local = (const struct sockaddr *)&conn->socket.local,
	    .data = data,
	    .length = length,
	};
	struct stun_msg msg;
	int err;

	worker->metrics->rx_datagrams++;
	worker->metrics->rx_bytes += length;
	/* A request that deletes the allocation leaves the connection
	 * open (stream_detach()); the next frame finds none. */
	if (conn->socket.allocation != NULL) {
		(void)relay_client_datagram(client, &dg, peer);
		return;
	}
	/* RFC 8656 §12.4: no allocation, no channel: dropped. */
	if ((data[0] & 0xC0) == 0x40) {
		worker->metrics->drop_no_channel++;
		return;
	}
	err = stun_msg_decode(&msg, data, length);
	if (err == 0)
		(void)worker_handle_stun(worker, &dg, &msg, NULL);
	else if (err == ENOMSG)
		worker->metrics->rx_unknown++;
	else
		worker->metrics->rx_malformed++;
}

/* The next whole frame's length, 0 when more bytes are needed, or -1 when
 * the stream is not TURN or announces more than STREAM_FRAME_MAX: then
 * there is no way to find the next message, and the connection goes. */
static long next_frame(struct evbuffer *input)
{
	size_t available = evbuffer_get_length(input), frame_len;
	uint8_t head[4];
	int err;

	evbuffer_copyout(input, head, sizeof(head));
	err = stun_frame_next(head, available, STREAM_FRAME_MAX, &frame_len);
	if (err == EAGAIN)
		return 0;
	return err == 0 ? (long)frame_len : -1;
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct stream_conn *conn = arg;
	struct worker *worker = conn->socket.worker;
	struct evbuffer *input = bufferevent_get_input(bev);
	struct relay_client_batch client;
	unsigned slot = 0;
	long length;

	/* The input is bounded by the read watermark (STREAM_INPUT_MAX):
	 * one call serves at most that much. Each frame waits for the
	 * batch's flush in a receive buffer of its own. They are free: the
	 * worker's buffers are filled only by recvmmsg() in a UDP socket's
	 * callback, libevent never runs one callback inside another, and
	 * nothing under serve_frame() reads a socket. */
	relay_client_batch_init(&client, &conn->socket);
	while ((length = next_frame(input)) > 0) {
		uint8_t *frame;

		if (slot == WORKER_BATCH) {
			relay_client_flush(&client);
			slot = 0;
		}
		frame = worker->buffers[slot] + WORKER_HEADROOM;
		evbuffer_remove(input, frame, (size_t)length);
		serve_frame(conn, &client, frame, (size_t)length,
		            &worker->send_peers[slot]);
		slot++;
	}
	relay_client_flush(&client);
	if (length < 0) {
		conn->socket.worker->metrics->streams_bad_framing++;
		stream_close(conn);
	}
}

/* Whether a paused relay may be read again: the queue is back at the
 * write watermark, a quarter of the bound. Asked when the callback runs,
 * not trusted from when it was scheduled: callbacks are deferred, so a
 * write that fell to the watermark may be followed, before its callback
 * runs, by a relay batch that filled the queue past half and paused.
 * Resuming then would let one more batch (up to WORKER_BATCH messages)
 * onto a queue already past half, over the bound, and drop datagrams the
 * relay socket would have held. A later write that reaches the watermark
 * calls back again. */
static bool may_resume(struct stream_conn *conn)
{
	struct evbuffer *output = bufferevent_get_output(conn->bev);

	return conn->paused &&
	       evbuffer_get_length(output) <= conn->output_limit / 4;
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct stream_conn *conn = arg;

	if (conn->flushing &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		stream_close(conn);
		return;
	}
	if (may_resume(conn))
		resume_relays(conn);
}

/* The client closed its side: what is queued for it (the answer to its
 * last request) still goes out, then the connection closes;
 * stream-write-timeout bounds the wait. */
static void flush_then_close(struct stream_conn *conn)
{
	/* RFC 8656 §3.1: the client's close ends its allocation now, so no
	 * more relayed data keeps the queue from draining. */
	if (conn->socket.allocation != NULL)
		allocation_free(conn->socket.allocation, ALLOCATION_CLOSED);
	if (evbuffer_get_length(bufferevent_get_output(conn->bev)) == 0) {
		stream_close(conn);
		return;
	}
	conn->flushing = true;
	bufferevent_disable(conn->bev, EV_READ);
	bufferevent_setwatermark(conn->bev, EV_WRITE, 0, 0);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct stream_conn *conn = arg;
	struct worker *worker = conn->socket.worker;
	char name[NET_ADDRSTRLEN];

	if ((what & BEV_EVENT_CONNECTED) != 0) {
		conn->handshaking = false;
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) != 0) {
		/* stream-write-timeout: the client stopped reading; what is
		 * queued for it is of no use to anyone. */
		worker->metrics->streams_timed_out++;
		(void)net_tcp_reset_on_close(bufferevent_getfd(bev));
	} else if (conn->handshaking && (what & BEV_EVENT_ERROR) != 0) {
		worker->metrics->tls_handshake_failures++;
		if (log_get_level() >= LOG_DEBUG)
			log_limited(
			    &stream_log_limit, LOG_DEBUG,
			    "TLS handshake failed client=%s",
			    net_addr_format((struct sockaddr *)&conn->peer,
			                    name, sizeof(name)));
	} else if ((what & BEV_EVENT_EOF) != 0 &&
	           (what & BEV_EVENT_ERROR) == 0) {
		flush_then_close(conn);
		return;
	}
	stream_close(conn);
}

static struct bufferevent *new_bufferevent(struct worker *worker, int fd,
                                           bool tls)
{
	int options = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
	struct bufferevent *bev;
	SSL *ssl;

	if (!tls)
		return bufferevent_socket_new(worker->base, fd, options);
	ssl = SSL_new(worker->streams->tls_ctx);
	if (ssl == NULL)
		return NULL;
	/* On failure libevent frees ssl itself (BEV_OPT_CLOSE_ON_FREE). */
	bev = bufferevent_openssl_socket_new(
	    worker->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, options);
	/* A client that drops TCP without close_notify is an EOF, not an
	 * error worth more than closing. */
	if (bev != NULL)
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

static void setup_bufferevent(struct stream_conn *conn)
{
	const struct conf *conf = conn->socket.worker->conf;
	struct timeval write_timeout = {conf->stream_write_timeout, 0};

	/* A connection keeps the bounds it was accepted with: its
	 * watermarks cannot move under a reload. */
	conn->output_limit = (size_t)conf->stream_buffer;
	bufferevent_setcb(conn->bev, on_read, on_write, on_event, conn);
	/* Reading stops at STREAM_INPUT_MAX buffered bytes. */
	bufferevent_setwatermark(conn->bev, EV_READ, 0, STREAM_INPUT_MAX);
	/* The write callback runs when the queue falls to a quarter. */
	bufferevent_setwatermark(conn->bev, EV_WRITE, conn->output_limit / 4,
	                         0);
	bufferevent_set_timeouts(conn->bev, NULL, &write_timeout);
	bufferevent_enable(conn->bev, EV_READ | EV_WRITE);
}

int stream_open(struct worker *worker, struct worker_socket *listener, int fd,
                const struct sockaddr_storage *peer, uint32_t source_slot)
{
	struct stream_conn *conn = calloc(1, sizeof(*conn));

	if (conn == NULL)
		return ENOMEM;
	conn->tls = listener->transport == CONF_TRANSPORT_TLS;
	conn->bev = new_bufferevent(worker, fd, conn->tls);
	if (conn->bev == NULL) {
		free(conn);
		return ENOMEM;
	}
	/* The kernel may hold as much as we do: the bound stays a bound. */
	(void)net_tcp_accepted(fd, worker->conf->stream_buffer);
	conn->socket.fd = -1;
	conn->socket.kind = WORKER_SOCKET_CLIENT;
	conn->socket.worker = worker;
	conn->socket.listener = listener;
	conn->socket.listener_index = listener->listener_index;
	conn->socket.transport = listener->transport;
	conn->socket.stream = conn;
	local_address(fd, listener, &conn->socket.local);
	memcpy(&conn->peer, peer, sizeof(conn->peer));
	conn->handshaking = conn->tls;
	setup_bufferevent(conn);
	worker->metrics->streams_accepted++;
	worker->metrics->streams_live++;
	conn->source_slot = source_slot;
	make_pending(conn, worker_now());
	return 0;
}
