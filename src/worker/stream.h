/*
 * TURN over TCP and TLS (RFC 8656 §3.1): the connections a worker accepts
 * on its own tcp:// and tls:// listening sockets. A connection is the
 * client's 5-tuple: its allocation is tied to it, and closing it deletes
 * the allocation (record and quota included). Messages are cut from the
 * byte stream with stun_frame_length() (RFC 8656 §12.5) and then served by
 * the same code as datagrams; what goes back is queued on the connection
 * with a bound, and a full queue pauses the allocation's relay sockets.
 *
 * Bounds, all from the configuration: connections without an allocation
 * (in total and per source address) and how long they may stay so
 * (stream-auth-timeout, tls-handshake-timeout); bytes read ahead
 * (STREAM_INPUT_MAX); bytes queued to a client (stream-buffer) and how
 * long it may not read (stream-write-timeout).
 */
#ifndef TURNPIKE_WORKER_STREAM_H
#define TURNPIKE_WORKER_STREAM_H

#include <openssl/ssl.h>

#include "worker_private.h"

/* The largest message taken from a stream: what a datagram may carry
 * (WORKER_MAX_PAYLOAD), so that TCP and UDP clients relay the same
 * sizes. A longer frame header closes the connection. */
#define STREAM_FRAME_MAX WORKER_MAX_PAYLOAD
/* Bytes read ahead from one client before its messages are handled. */
#define STREAM_INPUT_MAX (4 * STREAM_FRAME_MAX)
/* Pending connections are counted per source address in this many
 * slots, by a keyed hash: addresses that share a slot share its bound,
 * which errs on the safe side and costs no memory per source. */
#define STREAM_SOURCE_SLOTS 4096
/* Connections taken per readiness event of a listening socket. */
#define STREAM_ACCEPTS_PER_EVENT 64

struct bufferevent;
struct stream_conn;

struct stream_list {
	struct stream_conn *head, *tail;
	size_t count;
};

struct stream_conn {
	/* What the service sees as the datagram's socket: kind CLIENT, no
	 * descriptor of its own (the bufferevent has it), stream = this. */
	struct worker_socket socket;
	struct bufferevent *bev;
	struct sockaddr_storage peer;
	struct stream_conn *prev, *next; /* in pending or active */
	uint64_t since; /* accepted, or back to pending: worker_now() */
	uint32_t source_slot;
	size_t output_limit; /* stream-buffer when it was accepted */
	bool tls;
	bool pending;     /* no allocation: in the pending list and bounds */
	bool handshaking; /* TLS handshake not finished */
	bool paused;      /* the allocation's relay sockets are not read */
	bool closing;     /* being freed: no more sends, no list moves */
	bool flushing;    /* the client closed its side: close when sent */
};

struct stream_set {
	SSL_CTX *tls_ctx; /* for new connections; NULL without tls:// */
	/* Without an allocation, oldest first (the timeouts walk it). */
	struct stream_list pending;
	struct stream_list active;
	uint64_t source_key;
	struct event *resume_accept; /* after running out of descriptors */
	uint32_t per_source[STREAM_SOURCE_SLOTS];
};

/* stream_accept.c: the worker's side. setup() builds the TLS context when
 * a tls:// listener is served (0, or EINVAL after logging why);
 * free_all() closes every connection (deleting their allocations). */
int stream_setup(struct worker *worker);
void stream_free_all(struct worker *worker);
/* The read event of a tcp:// or tls:// listening socket. */
void stream_accept(int fd, short what, void *arg);
/* Once a second: closes connections whose handshake or first Allocate is
 * overdue. */
void stream_tick(struct worker *worker, uint64_t now);
/* SIGHUP: a fresh TLS context from fresh's files for new connections.
 * Returns 0, or EINVAL with the reason in err (the old context stays). */
int stream_reload(struct worker *worker, const struct conf *fresh, char *err,
                  size_t err_size);

/* stream.c: one connection. open() takes over fd on success (0), else
 * returns ENOMEM and the caller closes it. */
int stream_open(struct worker *worker, struct worker_socket *listener, int fd,
                const struct sockaddr_storage *peer, uint32_t source_slot);
void stream_close(struct stream_conn *conn);
void stream_list_append(struct stream_list *list, struct stream_conn *conn);
void stream_list_remove(struct stream_list *list, struct stream_conn *conn);

/* For allocation.c: fills the allocation's client socket for a stream
 * client; attach() ties the created allocation to its connection,
 * detach() unties it when the allocation goes (the connection stays,
 * pending again, unless it is closing). */
void stream_client_socket(struct stream_conn *conn,
                          struct worker_socket *socket);
void stream_attach(struct stream_conn *conn, struct allocation *allocation);
void stream_detach(struct stream_conn *conn);

/* Queues a STUN message (a response) to the client. Over the bound it
 * is dropped and counted; the connection is never freed here. */
void stream_send(struct stream_conn *conn, const uint8_t *data, size_t length);
/* Queues a relayed message (ChannelData, padded here to 4 bytes as RFC
 * 8656 §12.5 asks on streams, or a Data indication) and counts payload
 * bytes. Returns false when the relay should stop reading for now. */
bool stream_send_relayed(struct stream_conn *conn, const uint8_t *message,
                         size_t length, size_t payload);
/* How many datagrams the relay may read for this client in one batch so
 * that every frame they make fits its queue (a frame takes at most
 * WORKER_BUFFER_SIZE bytes), with pending bytes of frames still on their
 * way to it (on the pacing wheel): 0 while its relay is paused, else 1
 * to WORKER_BATCH. */
unsigned stream_relay_room(const struct stream_conn *conn, size_t pending);
/* STUN_TRANSPORT_TCP or STUN_TRANSPORT_TLS, for the store's record. */
uint8_t stream_transport(const struct stream_conn *conn);

#endif
