/*
 * The packet path: client <-> peer through an allocation.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "turnpike/net.h"
#include "allocation.h"
#include "relay.h"
#include "stream.h"

/* Datagrams bound for one socket, sent with one sendmmsg(). */
struct relay_batch {
	int fd;
	unsigned count;
	uint64_t bytes;
	struct mmsghdr messages[WORKER_BATCH];
	struct iovec iov[WORKER_BATCH];
};

static void batch_init(struct relay_batch *batch, int fd)
{
	batch->fd = fd;
	batch->count = 0;
	batch->bytes = 0;
}

static void batch_flush(struct worker *worker, struct relay_batch *batch,
                        uint64_t *packets, uint64_t *bytes)
{
	int sent;

	if (batch->count == 0)
		return;
	sent = sendmmsg(batch->fd, batch->messages, batch->count, MSG_DONTWAIT);
	if (sent < 0)
		sent = 0;
	/* A full socket buffer drops the rest of the batch, as the kernel
	 * would have dropped them on a congested link; it is counted. */
	worker->metrics->tx_errors += batch->count - (unsigned)sent;
	*packets += (unsigned)sent;
	*bytes += batch->bytes;
	batch_init(batch, batch->fd);
}

static void batch_add(struct relay_batch *batch, const void *data,
                      size_t length, const struct sockaddr *to, size_t payload)
{
	struct mmsghdr *m = &batch->messages[batch->count];

	batch->iov[batch->count].iov_base = (void *)data;
	batch->iov[batch->count].iov_len = length;
	memset(&m->msg_hdr, 0, sizeof(m->msg_hdr));
	m->msg_hdr.msg_iov = &batch->iov[batch->count];
	m->msg_hdr.msg_iovlen = 1;
	if (to != NULL) {
		m->msg_hdr.msg_name = (void *)to;
		m->msg_hdr.msg_namelen = net_addr_len(to);
	}
	batch->count++;
	batch->bytes += payload;
}

/* RFC 8656 §12.4: ChannelData on a bound channel goes to its peer;
 * anything else on a channel number is dropped silently. */
static const struct turn_channel *
channel_target(struct allocation *a, const uint8_t *data, size_t length,
               struct stun_channel_data *frame, uint64_t now)
{
	const struct turn_channel *channel;

	if (stun_channel_data_decode(data, length, frame) != 0) {
		a->worker->metrics->rx_malformed++;
		return NULL;
	}
	channel = turn_channel_by_number(&a->turn, frame->channel, now);
	if (channel == NULL)
		a->worker->metrics->drop_no_channel++;
	return channel;
}

bool relay_channel_data(struct allocation *a, const uint8_t *data,
                        size_t length)
{
	const struct turn_channel *channel;
	struct stun_channel_data frame;
	struct worker_socket *relay;

	if (length < 1 || (data[0] & 0xC0) != 0x40)
		return false;
	channel = channel_target(a, data, length, &frame, worker_now());
	if (channel == NULL)
		return true;
	relay = allocation_relay_for(a, (struct sockaddr *)&channel->peer);
	if (relay == NULL ||
	    sendto(relay->fd, frame.data, frame.length, MSG_DONTWAIT,
	           (struct sockaddr *)&channel->peer,
	           net_addr_len((struct sockaddr *)&channel->peer)) < 0) {
		a->worker->metrics->tx_errors++;
		return true;
	}
	a->worker->metrics->client_packets++;
	a->worker->metrics->client_bytes += frame.length;
	return true;
}

/* A STUN message or a stray on the client socket: served by the service,
 * after what is queued has left (order is kept). Returns false when the
 * allocation is gone. */
static bool serve_other(struct worker_socket *socket, struct relay_batch *batch,
                        const struct worker_datagram *dg)
{
	struct worker *worker = socket->worker;
	struct allocation *a = socket->allocation;
	struct stun_msg msg;
	int err;

	batch_flush(worker, batch, &worker->metrics->client_packets,
	            &worker->metrics->client_bytes);
	if (!net_addr_equal(dg->from, (struct sockaddr *)&a->client)) {
		/* Queued before connect(): another client's datagram, served
		 * as the listener would; it cannot touch this allocation. */
		struct worker_datagram stray = *dg;

		stray.socket = socket->listener;
		worker->metrics->rx_stray++;
		worker_dispatch(worker, &stray);
		return true;
	}
	err = stun_msg_decode(&msg, dg->data, dg->length);
	if (err != 0) {
		if (err == ENOMSG)
			worker->metrics->rx_unknown++;
		else
			worker->metrics->rx_malformed++;
		return true;
	}
	return worker_handle_stun(worker, dg, &msg, a);
}

int relay_from_client(struct worker_socket *socket)
{
	struct worker *worker = socket->worker;
	struct allocation *a = socket->allocation;
	struct mmsghdr messages[WORKER_BATCH];
	struct relay_batch batch;
	uint64_t now = worker_now();
	int i, count;

	count = worker_receive_batch(worker, socket->fd, messages);
	batch_init(&batch, -1);
	for (i = 0; i < count; i++) {
		struct worker_datagram dg = {
		    .socket = socket,
		    .from = (const struct sockaddr *)&worker->sources[i],
		    .data = worker->buffers[i] + WORKER_HEADROOM,
		    .length = messages[i].msg_len,
		};
		const struct turn_channel *channel;
		struct stun_channel_data frame;
		struct worker_socket *relay;

		if (dg.length == 0)
			continue;
		if ((dg.data[0] & 0xC0) != 0x40 ||
		    !net_addr_equal(dg.from, (struct sockaddr *)&a->client)) {
			if (!serve_other(socket, &batch, &dg))
				return -1;
			continue;
		}
		channel = channel_target(a, dg.data, dg.length, &frame, now);
		if (channel == NULL)
			continue;
		relay =
		    allocation_relay_for(a, (struct sockaddr *)&channel->peer);
		if (relay == NULL)
			continue;
		if (relay->fd != batch.fd) {
			batch_flush(worker, &batch,
			            &worker->metrics->client_packets,
			            &worker->metrics->client_bytes);
			batch.fd = relay->fd;
		}
		batch_add(&batch, frame.data, frame.length,
		          (struct sockaddr *)&channel->peer, frame.length);
	}
	batch_flush(worker, &batch, &worker->metrics->client_packets,
	            &worker->metrics->client_bytes);
	return count;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* RFC 8656 §11.6 (ChannelData) or §10.3 (Data indication): the header is
 * written into the headroom in front of the payload; no copy. Returns the
 * start of the message and its length in *out_length. */
static uint8_t *frame_for_client(struct worker *worker, struct allocation *a,
                                 const struct sockaddr *peer, uint8_t *data,
                                 size_t length, uint64_t now,
                                 size_t *out_length)
{
	const struct turn_channel *channel;
	struct stun_writer w;
	uint8_t tid[STUN_TID_SIZE], *start;
	uint64_t r1, r2;
	size_t address_size, padded;

	channel = turn_channel_by_peer(&a->turn, peer, now);
	if (channel != NULL) {
		/* Over UDP the padding is not sent (RFC 8656 §12.5). */
		stun_channel_data_header(data - 4, channel->number,
		                         (uint16_t)length);
		*out_length = length + 4;
		return data - 4;
	}
	address_size =
	    STUN_ATTR_HEADER_SIZE + (peer->sa_family == AF_INET6 ? 20 : 8);
	start =
	    data - (STUN_HEADER_SIZE + address_size + STUN_ATTR_HEADER_SIZE);
	r1 = worker_random(worker);
	r2 = worker_random(worker);
	memcpy(tid, &r1, 8);
	memcpy(tid + 8, &r2, 4);
	stun_writer_init(&w, start, STUN_HEADER_SIZE + address_size,
	                 STUN_METHOD_DATA, STUN_CLASS_INDICATION, tid);
	stun_put_xor_address(&w, STUN_ATTR_XOR_PEER_ADDRESS, peer);
	padded = (length + 3) & ~(size_t)3;
	put16(data - 4, STUN_ATTR_DATA);
	put16(data - 2, (uint16_t)length);
	memset(data + length, 0, padded - length);
	put16(start + 2,
	      (uint16_t)(address_size + STUN_ATTR_HEADER_SIZE + padded));
	*out_length = (size_t)(data - start) + padded;
	return start;
}

int relay_from_peer(struct worker_socket *socket)
{
	struct worker *worker = socket->worker;
	struct allocation *a = socket->allocation;
	struct mmsghdr messages[WORKER_BATCH];
	struct relay_batch batch;
	uint64_t now = worker_now();
	bool paused = false;
	int i, count;

	count = worker_receive_batch(worker, socket->fd, messages);
	batch_init(&batch, a->client_socket.fd);
	for (i = 0; i < count; i++) {
		const struct sockaddr *peer =
		    (const struct sockaddr *)&worker->sources[i];
		uint8_t *data = worker->buffers[i] + WORKER_HEADROOM, *frame;
		size_t length = messages[i].msg_len, frame_length;

		if (length == 0)
			continue;
		/* RFC 8656 §10.3: no permission, no relaying. */
		if (!turn_permission_allows(&a->turn, peer, now)) {
			worker->metrics->drop_no_permission++;
			continue;
		}
		frame = frame_for_client(worker, a, peer, data, length, now,
		                         &frame_length);
		/* A TCP or TLS client: its connection's queue, which pads,
		 * bounds and pauses this socket when the client is slow. */
		if (a->client_socket.stream != NULL) {
			if (!stream_send_relayed(a->client_socket.stream, frame,
			                         frame_length, length))
				paused = true;
			continue;
		}
		batch_add(&batch, frame, frame_length, NULL, length);
	}
	batch_flush(worker, &batch, &worker->metrics->peer_packets,
	            &worker->metrics->peer_bytes);
	/* Paused: the caller reads no further batch. */
	return paused ? 0 : count;
}
