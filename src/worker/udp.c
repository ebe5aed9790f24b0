/*
 * Receiving datagrams: one recvmmsg() drains up to WORKER_BATCH datagrams
 * into the worker's preallocated buffers (no allocation per packet), and
 * each is handed to the path of the socket it came in on.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "turnpike/net.h"
#include "allocation.h"
#include "relay.h"

/* Bounds the work done per readiness event so that one busy socket cannot
 * starve the others: after that many full batches the socket goes to the
 * back of the queue (it is made active again) while data remains. */
#define WORKER_MAX_BATCHES_PER_EVENT 8

int worker_receive_batch(struct worker *worker,
                         const struct worker_socket *socket,
                         struct mmsghdr messages[WORKER_BATCH], unsigned max)
{
	uint16_t port = net_addr_port((const struct sockaddr *)&socket->local);
	struct iovec iov[WORKER_BATCH];
	int i, count = 0, attempt;

	for (i = 0; i < (int)max; i++) {
		iov[i].iov_base = worker->buffers[i] + WORKER_HEADROOM;
		iov[i].iov_len = WORKER_MAX_PAYLOAD;
		memset(&messages[i].msg_hdr, 0, sizeof(messages[i].msg_hdr));
		messages[i].msg_hdr.msg_iov = &iov[i];
		messages[i].msg_hdr.msg_iovlen = 1;
		messages[i].msg_hdr.msg_name = &worker->sources[i];
		messages[i].msg_hdr.msg_namelen = sizeof(worker->sources[i]);
		if (socket->pktinfo) {
			messages[i].msg_hdr.msg_control = worker->controls[i];
			messages[i].msg_hdr.msg_controllen =
			    sizeof(worker->controls[i]);
		}
	}
	/* An error queued on the socket (an ICMP error on a connected
	 * client socket) comes back once, ahead of the datagrams, and is
	 * cleared by that: read on, for an allocation's socket is edge
	 * triggered and would not be told again. */
	for (attempt = 0; attempt < 2; attempt++) {
		count = recvmmsg(socket->fd, messages, max, MSG_DONTWAIT, NULL);
		if (count >= 0 || errno == EAGAIN || errno == EWOULDBLOCK)
			break;
	}
	if (count <= 0)
		return 0;
	for (i = 0; i < count; i++) {
		worker->metrics->rx_datagrams++;
		worker->metrics->rx_bytes += messages[i].msg_len;
		/* Larger than any STUN or TURN message we serve: marked
		 * with length 0 so the paths drop it as malformed. So is one
		 * to a wildcard listener without a unicast destination: a
		 * reply could leave from the wrong address. */
		if ((messages[i].msg_hdr.msg_flags & MSG_TRUNC) != 0 ||
		    (socket->pktinfo &&
		     !net_pktinfo_destination(&messages[i].msg_hdr, port,
		                              &worker->destinations[i]))) {
			worker->metrics->rx_malformed++;
			messages[i].msg_len = 0;
		}
	}
	return count;
}

static int drain_listener(struct worker_socket *socket)
{
	struct worker *worker = socket->worker;
	struct mmsghdr messages[WORKER_BATCH];
	int i, count;

	count = worker_receive_batch(worker, socket, messages, WORKER_BATCH);
	for (i = 0; i < count; i++) {
		struct worker_datagram dg = {
		    .socket = socket,
		    .from = (const struct sockaddr *)&worker->sources[i],
		    .local =
		        socket->pktinfo
		            ? (const struct sockaddr *)&worker->destinations[i]
		            : (const struct sockaddr *)&socket->local,
		    .data = worker->buffers[i] + WORKER_HEADROOM,
		    .length = messages[i].msg_len,
		};

		if (dg.length > 0)
			worker_dispatch(worker, &dg);
	}
	return count;
}

void worker_socket_readable(int fd, short what, void *arg)
{
	struct worker_socket *socket = arg;
	int batches, count;

	for (batches = 0; batches < WORKER_MAX_BATCHES_PER_EVENT; batches++) {
		switch (socket->kind) {
		case WORKER_SOCKET_LISTENER:
			count = drain_listener(socket);
			break;
		case WORKER_SOCKET_CLIENT:
			count = relay_from_client(socket);
			break;
		default:
			count = relay_from_peer(socket);
			break;
		}
		/* Fewer than a batch: the socket is drained, so the next
		 * datagram raises the edge again. A client batch may also
		 * have deleted the allocation and its socket (Refresh 0):
		 * relay_from_client() says so with -1. */
		if (count < WORKER_BATCH)
			return;
	}
	/* Listeners are level triggered; an allocation's socket that still
	 * holds data must be served again. */
	if (socket->kind != WORKER_SOCKET_LISTENER)
		event_active(socket->event, EV_READ, 0);
}
