/*
 * Replies over UDP, queued behind the callbacks already active and sent
 * back to back (reply.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "turnpike/net.h"
#include "reply.h"
#include "stream.h"

struct queued_reply {
	int fd;
	bool connected; /* an allocation's client socket: no address */
	bool pktinfo;   /* a wildcard listener: leave from local */
	struct sockaddr_storage to, local;
	size_t offset, length;
};

struct reply_queue {
	unsigned count;
	size_t used;
	/* Made active with the first reply: libevent runs it after the
	 * callbacks already active, whatever their kind. */
	struct event *flush_event;
	struct queued_reply entries[REPLY_QUEUE_ENTRIES];
	uint8_t bytes[REPLY_QUEUE_BYTES];
	/* Built by the flush. */
	struct iovec iov[REPLY_QUEUE_ENTRIES];
	struct mmsghdr messages[REPLY_QUEUE_ENTRIES];
	union {
		struct cmsghdr align; /* CMSG_FIRSTHDR's alignment */
		uint8_t bytes[NET_PKTINFO_SPACE];
	} controls[REPLY_QUEUE_ENTRIES];
};

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
	reply_queue_flush(arg);
}

struct reply_queue *reply_queue_new(struct worker *worker)
{
	struct reply_queue *queue = calloc(1, sizeof(*queue));

	if (queue != NULL)
		queue->flush_event =
		    event_new(worker->base, -1, 0, on_flush, worker);
	if (queue != NULL && queue->flush_event == NULL) {
		free(queue);
		queue = NULL;
	}
	return queue;
}

void reply_queue_free(struct reply_queue *queue)
{
	if (queue != NULL)
		event_free(queue->flush_event);
	free(queue);
}

static void build_message(struct reply_queue *queue, unsigned i)
{
	struct queued_reply *e = &queue->entries[i];
	struct msghdr *msg = &queue->messages[i].msg_hdr;

	queue->iov[i].iov_base = queue->bytes + e->offset;
	queue->iov[i].iov_len = e->length;
	memset(msg, 0, sizeof(*msg));
	msg->msg_iov = &queue->iov[i];
	msg->msg_iovlen = 1;
	if (!e->connected) {
		msg->msg_name = &e->to;
		msg->msg_namelen = net_addr_len((struct sockaddr *)&e->to);
	}
	if (e->pktinfo) {
		msg->msg_control = queue->controls[i].bytes;
		msg->msg_controllen = net_pktinfo_source(
		    (struct sockaddr *)&e->local, queue->controls[i].bytes,
		    sizeof(queue->controls[i]));
	}
}

/* Sends messages [first, end), all through fd: what the kernel refuses
 * is skipped and counted, the rest still goes. */
static void send_run(struct worker *worker, struct reply_queue *queue, int fd,
                     unsigned first, unsigned end)
{
	while (first < end) {
		int sent = sendmmsg(fd, &queue->messages[first], end - first,
		                    MSG_DONTWAIT);

		if (sent <= 0) {
			worker->metrics->tx_errors++;
			first++;
		} else {
			first += (unsigned)sent;
		}
	}
}

void reply_queue_flush(struct worker *worker)
{
	struct reply_queue *queue = worker->replies;
	unsigned i, first = 0;

	if (queue == NULL || queue->count == 0)
		return;
	for (i = 0; i < queue->count; i++)
		build_message(queue, i);
	for (i = 1; i <= queue->count; i++) {
		int fd = queue->entries[first].fd;

		if (i == queue->count || queue->entries[i].fd != fd) {
			send_run(worker, queue, fd, first, i);
			first = i;
		}
	}
	queue->count = 0;
	queue->used = 0;
}

void reply_queue_flush_before(struct worker *worker, int fd)
{
	struct reply_queue *queue = worker->replies;
	unsigned i;

	/* A reply through a listener may be to that client too (a request
	 * that reached the listener before the allocation's socket was
	 * connected). */
	for (i = 0; i < queue->count; i++) {
		if (queue->entries[i].fd == fd ||
		    !queue->entries[i].connected) {
			reply_queue_flush(worker);
			return;
		}
	}
}

static void enqueue(struct worker *worker, const struct worker_datagram *dg,
                    const uint8_t *data, size_t length)
{
	struct reply_queue *queue = worker->replies;
	struct queued_reply *e;

	if (queue->count == REPLY_QUEUE_ENTRIES ||
	    queue->used + length > REPLY_QUEUE_BYTES)
		reply_queue_flush(worker);
	/* Already active from an earlier reply, it stays where it is. */
	if (queue->count == 0)
		event_active(queue->flush_event, EV_TIMEOUT, 0);
	e = &queue->entries[queue->count++];
	e->fd = dg->socket->fd;
	e->connected = dg->socket->kind == WORKER_SOCKET_CLIENT;
	e->pktinfo = !e->connected && dg->socket->pktinfo;
	if (!e->connected)
		memcpy(&e->to, dg->from, net_addr_len(dg->from));
	if (e->pktinfo)
		memcpy(&e->local, dg->local, net_addr_len(dg->local));
	e->offset = queue->used;
	e->length = length;
	memcpy(queue->bytes + queue->used, data, length);
	queue->used += length;
}

void worker_reply(struct worker *worker, const struct worker_datagram *dg,
                  const uint8_t *data, size_t length)
{
	if (dg->socket->stream != NULL)
		stream_send(dg->socket->stream, data, length);
	else if (length <= REPLY_QUEUE_BYTES)
		enqueue(worker, dg, data, length);
	else
		worker->metrics->tx_errors++; /* longer than any we write */
}
