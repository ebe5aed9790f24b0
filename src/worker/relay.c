/*
 * The packet path: client <-> peer through an allocation.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

#include "turnpike/net.h"
#include "allocation.h"
#include "batch.h"
#include "limiter.h"
#include "relay.h"
#include "reply.h"
#include "stream.h"

/*
 * Sends a batch of one allocation's datagrams in one direction and counts
 * what left. Data to a client goes after the replies queued before it
 * (reply.h): a ChannelBind success must not arrive after data on that
 * channel.
 */
static void batch_flush_direction(struct allocation *a,
                                  struct relay_batch *batch,
                                  enum limiter_direction direction)
{
	struct batch_sent sent;

	if (batch->count == 0)
		return;
	if (direction == LIMITER_TO_CLIENT)
		reply_queue_flush_before(a->worker, batch->fd);
	sent = batch_flush(a->worker, batch);
	allocation_count_relayed(a, direction, sent.packets, sent.bytes);
}

/*
 * The rate limits (DESIGN.md section 5): true when the datagram may leave
 * now. Otherwise it was queued on the wheel (with the peer's address in
 * front, towards a peer) or dropped, and counted either way. The clock is
 * read once per batch, and only when a limit applies.
 */
static bool limit_passes(struct allocation *a, enum limiter_direction direction,
                         uint64_t *now_ns, const struct sockaddr *peer,
                         const uint8_t *data, size_t length, size_t payload)
{
	struct limiter_flow *flow = &a->limits.flow[direction];
	struct rl_datagram datagram = {
	    .prefix = peer,
	    .prefix_length = peer != NULL ? (uint32_t)net_addr_len(peer) : 0,
	    .data = data,
	    .length = (uint32_t)length,
	    .meta = limiter_meta(direction, payload),
	};

	if (!limiter_applies(a->worker->limiter, flow))
		return true;
	if (*now_ns == 0)
		*now_ns = limiter_now_ns();
	return limiter_admit(a->worker, flow, *now_ns, &datagram) == RL_SEND;
}

/* What limit_batch() asks each datagram about when the run does not go
 * as one. */
struct batch_limit {
	struct allocation *a;
	enum limiter_direction direction;
	uint64_t *now_ns;
};

static bool datagram_passes(struct relay_batch *batch, unsigned i, void *arg)
{
	struct batch_limit *limit = arg;

	return limit_passes(limit->a, limit->direction, limit->now_ns,
	                    batch->to[i], batch->iov[i].iov_base,
	                    batch->iov[i].iov_len, batch->payload[i]);
}

/*
 * The rate limits for a batch about to leave, all one flow's. When none
 * of the flow's packets waits on the wheel, the batch is first asked about
 * as one run (rl_admit_run()): one charge per bucket, one compare-and-swap
 * per shared bucket instead of one per packet, with the same result as
 * asking packet by packet when they all conform. Otherwise, or when the
 * run does not conform at once, each datagram is asked on its own, in
 * order; what may not leave now is queued on the wheel or dropped, and
 * leaves the batch.
 */
static void limit_batch(struct allocation *a, enum limiter_direction direction,
                        struct relay_batch *batch, uint64_t *now_ns)
{
	struct limiter_flow *flow = &a->limits.flow[direction];
	struct batch_limit limit = {a, direction, now_ns};
	unsigned i;

	if (batch->count == 0 || !limiter_applies(a->worker->limiter, flow))
		return;
	if (*now_ns == 0)
		*now_ns = limiter_now_ns();
	if (batch->count > 1 && flow->queue.head == NULL) {
		struct rl_run run = {
		    .now = *now_ns,
		    .packets = batch->count,
		    .last_bytes =
		        (uint32_t)batch->iov[batch->count - 1].iov_len,
		};

		for (i = 0; i < batch->count; i++)
			run.bytes += batch->iov[i].iov_len;
		if (rl_admit_run(&flow->levels, &run))
			return;
	}
	batch_filter(batch, datagram_passes, &limit);
}

/* A batch towards peers: the rate limits, then the send. Only for what
 * was received now: relay_paced() sends packets already charged. */
static void limit_and_flush_to_peers(struct allocation *a,
                                     struct relay_batch *batch,
                                     uint64_t *now_ns)
{
	limit_batch(a, LIMITER_TO_PEER, batch, now_ns);
	batch_flush_direction(a, batch, LIMITER_TO_PEER);
}

void relay_to_peer(struct allocation *a, struct worker_socket *relay,
                   const struct sockaddr *peer, const uint8_t *data,
                   size_t length)
{
	uint64_t now_ns = 0;

	if (!limit_passes(a, LIMITER_TO_PEER, &now_ns, peer, data, length,
	                  length))
		return;
	if (sendto(relay->fd, data, length, MSG_DONTWAIT, peer,
	           net_addr_len(peer)) < 0) {
		a->worker->metrics->tx_errors++;
		return;
	}
	allocation_count_relayed(a, LIMITER_TO_PEER, 1, length);
}

/* The allocation a queued packet belongs to: its flow is embedded in it. */
static struct allocation *allocation_of_flow(struct rl_flow *flow,
                                             enum limiter_direction direction)
{
	size_t offset = direction == LIMITER_TO_PEER
	                    ? offsetof(struct allocation,
	                               limits.flow[LIMITER_TO_PEER].queue)
	                    : offsetof(struct allocation,
	                               limits.flow[LIMITER_TO_CLIENT].queue);

	return (struct allocation *)((char *)flow - offset);
}

/* Due packets on their way out: one socket's, so one allocation's and
 * one direction's, at a time. */
struct paced_batch {
	struct relay_batch batch;
	struct allocation *owner;
	enum limiter_direction direction;
};

/* Adds one due packet to the batch for its socket; false when it has
 * nowhere to go (the packet is then simply released). */
static bool paced_add(struct paced_batch *paced, struct rl_packet *packet)
{
	enum limiter_direction direction = limiter_meta_direction(packet->meta);
	struct allocation *a = allocation_of_flow(packet->flow, direction);
	const struct sockaddr *peer = NULL;
	const uint8_t *data = packet->data;
	size_t length = packet->length;
	int fd = a->client_socket.fd;

	/* A TCP or TLS client: its connection's queue, as in
	 * relay_from_peer(); a full one drops and counts. */
	if (direction == LIMITER_TO_CLIENT && a->client_socket.stream != NULL) {
		(void)stream_send_relayed(a->client_socket.stream, data, length,
		                          limiter_meta_payload(packet->meta));
		return true;
	}
	if (direction == LIMITER_TO_PEER) {
		struct worker_socket *relay;

		peer = (const struct sockaddr *)packet->data;
		relay = allocation_relay_for(a, peer);
		if (relay == NULL)
			return false;
		fd = relay->fd;
		data += net_addr_len(peer);
		length -= net_addr_len(peer);
	}
	if (fd != paced->batch.fd) {
		if (paced->owner != NULL)
			batch_flush_direction(paced->owner, &paced->batch,
			                      paced->direction);
		paced->batch.fd = fd;
		paced->owner = a;
		paced->direction = direction;
	}
	/* The peer's address stays in the pool buffer until the flush. */
	batch_add(&paced->batch, data, length, peer,
	          limiter_meta_payload(packet->meta));
	return true;
}

void relay_paced(struct worker *worker, uint64_t now_ns)
{
	struct rl_pacer *pacer = &worker->limiter->pacer;
	struct rl_packet *held[WORKER_BATCH];
	struct paced_batch paced;
	unsigned count, i;

	do {
		batch_init(&paced.batch, -1);
		paced.owner = NULL;
		for (count = 0; count < WORKER_BATCH; count++) {
			held[count] = rl_pacer_due(pacer, now_ns);
			if (held[count] == NULL)
				break;
			(void)paced_add(&paced, held[count]);
		}
		if (paced.owner != NULL)
			batch_flush_direction(paced.owner, &paced.batch,
			                      paced.direction);
		for (i = 0; i < count; i++)
			rl_pacer_release(pacer, held[i]);
	} while (count == WORKER_BATCH);
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

struct relay_target relay_send_target(struct allocation *a,
                                      const struct stun_msg *msg, uint64_t now,
                                      struct sockaddr_storage *peer)
{
	const struct stun_attr *peer_attr, *data_attr;
	struct relay_target target = {.peer = (const struct sockaddr *)peer};

	peer_attr = stun_msg_find(msg, STUN_ATTR_XOR_PEER_ADDRESS);
	data_attr = stun_msg_find(msg, STUN_ATTR_DATA);
	/* RFC 8489 §6.3.2: an indication with an unknown
	 * comprehension-required attribute is discarded. */
	if (msg->unknown_count == 0 && peer_attr != NULL && data_attr != NULL &&
	    stun_attr_read_xor_address(msg, peer_attr, peer) == 0 &&
	    turn_permission_allows(&a->turn, target.peer, now))
		target.relay = allocation_relay_for(a, target.peer);
	if (target.relay == NULL) {
		a->worker->metrics->drop_send_denied++;
		return target;
	}
	target.data = stun_attr_value(msg, data_attr);
	target.length = data_attr->length;
	return target;
}

/* RFC 8656 §12.4: ChannelData on a bound channel, to its peer; relay NULL
 * when it goes nowhere (counted). */
static struct relay_target channel_data_target(struct allocation *a,
                                               const uint8_t *data,
                                               size_t length, uint64_t now)
{
	struct relay_target target = {0};
	const struct turn_channel *channel;
	struct stun_channel_data frame;

	channel = channel_target(a, data, length, &frame, now);
	if (channel == NULL)
		return target;
	target.peer = (const struct sockaddr *)&channel->peer;
	target.relay = allocation_relay_for(a, target.peer);
	if (target.relay == NULL) {
		/* No relay socket of the peer's family. */
		a->worker->metrics->tx_errors++;
		return target;
	}
	target.data = frame.data;
	target.length = frame.length;
	return target;
}

bool relay_channel_data(struct allocation *a, const uint8_t *data,
                        size_t length)
{
	struct relay_target target;

	if (length < 1 || (data[0] & 0xC0) != 0x40)
		return false;
	target = channel_data_target(a, data, length, worker_now());
	if (target.relay != NULL)
		relay_to_peer(a, target.relay, target.peer, target.data,
		              target.length);
	return true;
}

/* Queued before connect(): another client's datagram, served as the
 * listener would, after what is queued has left; it cannot touch this
 * allocation. */
static void serve_stray(struct relay_client_batch *client,
                        const struct worker_datagram *dg)
{
	struct worker_datagram stray = *dg;

	relay_client_flush(client);
	stray.socket = client->socket->listener;
	client->socket->worker->metrics->rx_stray++;
	worker_dispatch(client->socket->worker, &stray);
}

/*
 * A STUN message from the client. A Send indication's data joins the
 * batch as ChannelData does (RFC 8656 §10.2), its peer's address kept in
 * *peer until the flush: the target, or relay NULL when it goes nowhere.
 * Anything else is served by the service after what is queued has left:
 * a request may change the channels, permissions or the allocation
 * itself, and order is kept. *gone: a request deleted the allocation.
 */
static struct relay_target serve_client_stun(struct relay_client_batch *client,
                                             const struct worker_datagram *dg,
                                             struct sockaddr_storage *peer,
                                             bool *gone)
{
	struct worker *worker = client->socket->worker;
	struct allocation *a = client->socket->allocation;
	struct relay_target nowhere = {0};
	struct stun_msg msg;
	int err = stun_msg_decode(&msg, dg->data, dg->length);

	if (err != 0) {
		if (err == ENOMSG)
			worker->metrics->rx_unknown++;
		else
			worker->metrics->rx_malformed++;
		return nowhere;
	}
	if (msg.class == STUN_CLASS_INDICATION &&
	    msg.method == STUN_METHOD_SEND)
		return relay_send_target(a, &msg, client->now, peer);
	relay_client_flush(client);
	*gone = !worker_handle_stun(worker, dg, &msg, a);
	/* A request may have written the store: read the clocks again. */
	client->now = worker_now();
	client->now_ns = 0;
	return nowhere;
}

void relay_client_batch_init(struct relay_client_batch *client,
                             struct worker_socket *socket)
{
	client->socket = socket;
	batch_init(&client->batch, -1);
	client->now = worker_now();
	client->now_ns = 0;
}

void relay_client_flush(struct relay_client_batch *client)
{
	struct allocation *a = client->socket->allocation;

	if (client->batch.count == 0)
		return;
	/* Cannot be: whatever deletes the allocation is a request, served
	 * after a flush. Should it ever be, the batch goes unsent rather
	 * than through freed memory. */
	if (a == NULL) {
		client->socket->worker->metrics->tx_errors +=
		    client->batch.count;
		batch_init(&client->batch, client->batch.fd);
		return;
	}
	limit_and_flush_to_peers(a, &client->batch, &client->now_ns);
}

bool relay_client_datagram(struct relay_client_batch *client,
                           const struct worker_datagram *dg,
                           struct sockaddr_storage *peer)
{
	struct allocation *a = client->socket->allocation;
	struct relay_target target;
	bool gone = false;

	if ((dg->data[0] & 0xC0) == 0x40)
		target =
		    channel_data_target(a, dg->data, dg->length, client->now);
	else
		target = serve_client_stun(client, dg, peer, &gone);
	if (target.relay == NULL)
		return !gone;
	if (target.relay->fd != client->batch.fd) {
		relay_client_flush(client);
		client->batch.fd = target.relay->fd;
	}
	batch_add(&client->batch, target.data, target.length, target.peer,
	          target.length);
	return true;
}

int relay_from_client(struct worker_socket *socket)
{
	struct worker *worker = socket->worker;
	struct mmsghdr messages[WORKER_BATCH];
	struct relay_client_batch client;
	int i, count;

	count = worker_receive_batch(worker, socket, messages, WORKER_BATCH);
	relay_client_batch_init(&client, socket);
	for (i = 0; i < count; i++) {
		struct worker_datagram dg = {
		    .socket = socket,
		    .from = (const struct sockaddr *)&worker->sources[i],
		    .local = (const struct sockaddr *)&socket->local,
		    .data = worker->buffers[i] + WORKER_HEADROOM,
		    .length = messages[i].msg_len,
		};

		if (dg.length == 0)
			continue;
		if (!net_addr_equal(
		        dg.from,
		        (struct sockaddr *)&socket->allocation->client)) {
			serve_stray(&client, &dg);
			continue;
		}
		if (!relay_client_datagram(&client, &dg,
		                           &worker->send_peers[i]))
			return -1;
	}
	relay_client_flush(&client);
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
	uint64_t now = worker_now(), now_ns = 0;
	bool paused = false;
	unsigned max = WORKER_BATCH;
	int i, count;

	/* A TCP or TLS client's queue is bounded (stream-buffer): read no
	 * more than its room holds, less what waits on the pacing wheel
	 * for it, for a batch read is not put back. */
	if (a->client_socket.stream != NULL &&
	    (max = stream_relay_room(
	         a->client_socket.stream,
	         a->limits.flow[LIMITER_TO_CLIENT].queue.queued_bytes)) == 0)
		return 0;
	count = worker_receive_batch(worker, socket, messages, max);
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
			if (limit_passes(a, LIMITER_TO_CLIENT, &now_ns, NULL,
			                 frame, frame_length, length) &&
			    !stream_send_relayed(a->client_socket.stream, frame,
			                         frame_length, length))
				paused = true;
			continue;
		}
		batch_add(&batch, frame, frame_length, NULL, length);
	}
	limit_batch(a, LIMITER_TO_CLIENT, &batch, &now_ns);
	batch_flush_direction(a, &batch, LIMITER_TO_CLIENT);
	/* Paused: the caller reads no further batch. A batch cut short by
	 * the client's room may have left datagrams: WORKER_BATCH tells the
	 * caller to read again. */
	if (paused)
		return 0;
	return (unsigned)count == max ? WORKER_BATCH : count;
}
