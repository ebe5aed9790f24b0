/*
 * The traffic threads. Each sender goes round its share of the
 * allocations (every n-th, for n senders), one batch per client in turn,
 * flat out or paced to its share of the total rate: over UDP a sendmmsg()
 * of a datagram each, over TCP and TLS one write of the frames back to
 * back (stream.c). Every payload carries its send time, a sequence number
 * and the index of its allocation. In echo mode a receiver thread waits
 * on all client sockets with epoll, drains them (recvmmsg() batches, or
 * the frames a stream has delivered) and records each round trip in a
 * histogram. No thread allocates, locks (but for TLS, see stream.c) or
 * logs once running.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define DATAGRAM_MAX   (BENCH_PAYLOAD_MAX + 64)
#define RECEIVE_ROUNDS 8 /* batches per socket per wake-up */
#define EPOLL_EVENTS   64
#define STOP_CHECK_MS  50
#define START_DELAY_NS 2000000ull
/* Flat out over streams, when no connection takes more: how long to wait
 * for one to become writable before trying them all again. */
#define BLOCKED_WAIT_MS 5
/* At the end, how long a stream may take to write what it has queued. */
#define FINISH_NS 100000000ull

/* The payload's first bytes, in host order: the same process reads them. */
struct stamp {
	uint64_t sent_ns;
	uint32_t sequence;
	uint32_t allocation;
};

struct sender {
	struct traffic *t;
	unsigned first; /* allocations first, first + step, ... */
	unsigned step;
	uint64_t rate; /* this sender's share; 0 = flat out */
	pthread_t thread;
	bool started;
	/* Read by traffic_wait_sender() after the join. */
	uint64_t sent, send_errors, end_ns;
	uint64_t lag_max_ns; /* paced: the furthest behind its schedule */
	int send_error;
	size_t length;         /* of each packet */
	size_t stride;         /* from one packet to the next in batch: the
	                          length padded to 4 (RFC 8656 §12.5) */
	size_t payload_offset; /* where the peer's bytes start */
	uint32_t sequence;
	/* Streams: this sender's connections, for waiting until one is
	 * writable when flat out; owned. */
	struct pollfd *writable;
	unsigned connections;
	uint8_t batch[BENCH_SEND_BATCH * DATAGRAM_MAX];
	struct mmsghdr msgs[BENCH_SEND_BATCH];
	struct iovec iov[BENCH_SEND_BATCH];
};

static bool is_stream(const struct traffic *t)
{
	return t->options->transport != BENCH_TRANSPORT_UDP;
}

/* ChannelData (RFC 8656 §12.4; padded to 4 with zeros, which over UDP
 * is left out) or a Send indication (§11.1) with XOR-PEER-ADDRESS and
 * DATA. The same bytes suit every allocation: each has its own channel
 * 0x4000 and the same peer. */
static int build_template(struct sender *s)
{
	const struct bench_options *options = s->t->options;
	static const uint8_t zeros[BENCH_PAYLOAD_MAX];
	uint8_t tid[STUN_TID_SIZE] = {'t', 'u', 'r', 'n', 'p', 'i',
	                              'k', 'e', 'b', 'e', 'n', 'c'};
	struct stun_writer w;
	int err = 0;

	memset(s->batch, 0, DATAGRAM_MAX);
	if (!options->send_indications) {
		stun_channel_data_header(s->batch, BENCH_CHANNEL,
		                         (uint16_t)options->payload);
		s->payload_offset = STUN_CHANNEL_DATA_HEADER_SIZE;
		s->length = STUN_CHANNEL_DATA_HEADER_SIZE + options->payload;
	} else {
		/* Indications are never answered: one transaction id does. */
		stun_writer_init(&w, s->batch, DATAGRAM_MAX, STUN_METHOD_SEND,
		                 STUN_CLASS_INDICATION, tid);
		stun_put_xor_address(&w, STUN_ATTR_XOR_PEER_ADDRESS,
		                     (const struct sockaddr *)&s->t->peer);
		s->payload_offset = w.length + STUN_ATTR_HEADER_SIZE;
		stun_put_bytes(&w, STUN_ATTR_DATA, zeros, options->payload);
		err = stun_writer_finish(&w, &s->length);
	}
	s->stride = (s->length + 3) & ~(size_t)3;
	return err;
}

static void stamp_batch(struct sender *s, unsigned count, uint64_t now,
                        uint32_t allocation)
{
	struct stamp stamp = {.sent_ns = now, .allocation = allocation};
	unsigned i;

	for (i = 0; i < count; i++) {
		stamp.sequence = s->sequence++;
		memcpy(s->batch + i * s->stride + s->payload_offset, &stamp,
		       sizeof(stamp));
	}
}

/* When the packet numbered k of a paced sender is due. */
static uint64_t due_at(const struct sender *s, uint64_t k)
{
	return s->t->start_ns + (uint64_t)((double)k * 1e9 / (double)s->rate);
}

/* How many packets may leave now: all a batch holds when flat out;
 * paced, those whose time (start + k / rate) has come. A paced sender
 * notes how late the first of them leaves: a generator that was not
 * scheduled offered nothing meanwhile, and a limiter under test cannot
 * bank more than its burst of that. */
static unsigned due(struct sender *s, uint64_t scheduled, uint64_t now,
                    uint64_t *wake)
{
	const struct traffic *t = s->t;
	uint64_t rate = s->rate, by_now;

	if (rate == 0)
		return BENCH_SEND_BATCH;
	by_now =
	    (uint64_t)((double)(now - t->start_ns) * (double)rate / 1e9) + 1;
	if (by_now <= scheduled) {
		*wake = due_at(s, scheduled);
		return 0;
	}
	if (now > due_at(s, scheduled) &&
	    now - due_at(s, scheduled) > s->lag_max_ns)
		s->lag_max_ns = now - due_at(s, scheduled);
	return by_now - scheduled > BENCH_SEND_BATCH
	           ? BENCH_SEND_BATCH
	           : (unsigned)(by_now - scheduled);
}

static void sleep_until(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ull),
	                      .tv_nsec = (long)(ns % 1000000000ull)};

	(void)clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

/* One batch to a UDP client: how many datagrams the kernel took. */
static unsigned send_datagrams(struct sender *s, unsigned index, unsigned count)
{
	int sent;

	sent = sendmmsg(s->t->clients[index].fd, s->msgs, count, MSG_DONTWAIT);
	if (sent < 0) {
		s->send_error = errno;
		return 0;
	}
	return (unsigned)sent;
}

/* One batch to a TCP or TLS client, in one write: how many frames it
 * took. */
static unsigned send_frames(struct sender *s, unsigned index, unsigned count)
{
	unsigned taken = 0;
	int err;

	err = stream_send(s->t->clients[index].stream, s->batch, s->stride,
	                  count, &taken);
	if (err != 0 && err != EAGAIN)
		s->send_error = err;
	return taken;
}

/* Flat out over streams, every connection was full: wait until one can be
 * written, briefly, rather than spin. */
static void wait_writable(struct sender *s, uint64_t end)
{
	uint64_t now = bench_now_ns();
	int ms = BLOCKED_WAIT_MS;
	unsigned i;

	if (now >= end)
		return;
	if ((end - now) / 1000000ull < (uint64_t)ms)
		ms = (int)((end - now) / 1000000ull) + 1;
	for (i = 0; i < s->connections; i++)
		s->writable[i].revents = 0;
	(void)poll(s->writable, s->connections, ms);
}

/* Streams: write what is still queued, and do not count as sent the
 * frames that could not be. */
static void finish_streams(struct sender *s)
{
	uint64_t deadline = bench_now_ns() + FINISH_NS;
	unsigned index;

	for (index = s->first; index < s->t->options->allocations;
	     index += s->step)
		s->sent -= stream_finish(s->t->clients[index].stream, deadline);
}

static void send_loop(struct sender *s)
{
	struct traffic *t = s->t;
	uint64_t end = t->start_ns + (uint64_t)(t->options->duration * 1e9);
	uint64_t scheduled = 0, now, wake = 0;
	unsigned index = s->first, count, sent, blocked = 0;
	bool stream = is_stream(t);

	sleep_until(t->start_ns);
	while ((now = bench_now_ns()) < end) {
		count = due(s, scheduled, now, &wake);
		if (count == 0) {
			sleep_until(wake < end ? wake : end);
			continue;
		}
		stamp_batch(s, count, now, index);
		sent = stream ? send_frames(s, index, count)
		              : send_datagrams(s, index, count);
		s->sent += sent;
		index += s->step;
		if (index >= t->options->allocations)
			index = s->first;
		if (stream && s->rate == 0) {
			/* Flat out a stream offers what it takes, no more:
			 * nothing is lost, it is just not sent yet. */
			blocked = sent > 0 ? 0 : blocked + 1;
			if (blocked >= s->connections) {
				wait_writable(s, end);
				blocked = 0;
			}
			continue;
		}
		/* What the kernel did not take was not offered: counted, not
		 * retried, so that pacing holds its schedule. */
		s->send_errors += count - sent;
		scheduled += count;
	}
	if (stream)
		finish_streams(s);
	s->end_ns = bench_now_ns();
}

static void *sender_main(void *arg)
{
	struct sender *s = arg;
	unsigned i;

	for (i = 0; i < BENCH_SEND_BATCH; i++) {
		if (i > 0)
			memcpy(s->batch + i * s->stride, s->batch, s->stride);
		s->iov[i].iov_base = s->batch + i * s->stride;
		s->iov[i].iov_len = s->length;
		memset(&s->msgs[i], 0, sizeof(s->msgs[i]));
		s->msgs[i].msg_hdr.msg_iov = &s->iov[i];
		s->msgs[i].msg_hdr.msg_iovlen = 1;
	}
	send_loop(s);
	return NULL;
}

/* The peer's bytes inside what the server delivered: ChannelData when a
 * channel is bound, else a Data indication (RFC 8656 §11.5, §12.3). */
static const uint8_t *payload_of(const uint8_t *buf, size_t len,
                                 size_t *payload_len)
{
	struct stun_channel_data frame;
	const struct stun_attr *data;
	struct stun_msg msg;

	if (len >= 1 && (buf[0] & 0xC0) == 0x40) {
		if (stun_channel_data_decode(buf, len, &frame) != 0)
			return NULL;
		*payload_len = frame.length;
		return frame.data;
	}
	if (stun_msg_decode(&msg, buf, len) != 0 ||
	    msg.class != STUN_CLASS_INDICATION ||
	    msg.method != STUN_METHOD_DATA)
		return NULL;
	data = stun_msg_find(&msg, STUN_ATTR_DATA);
	if (data == NULL)
		return NULL;
	*payload_len = data->length;
	return stun_attr_value(&msg, data);
}

struct receiver {
	struct traffic *t;
	int epoll_fd;
	uint8_t bufs[BENCH_RECV_BATCH][DATAGRAM_MAX];
	struct mmsghdr msgs[BENCH_RECV_BATCH];
	struct iovec iov[BENCH_RECV_BATCH];
};

/* One packet back from the relay: true when it is a round trip of this
 * allocation's, recorded; else it counts as malformed. */
static bool account_one(struct traffic *t, const uint8_t *buf, size_t len,
                        uint32_t allocation, uint64_t now)
{
	const uint8_t *payload;
	struct stamp stamp;
	size_t payload_len;

	payload = payload_of(buf, len, &payload_len);
	if (payload == NULL || payload_len < sizeof(stamp)) {
		t->malformed++;
		return false;
	}
	memcpy(&stamp, payload, sizeof(stamp));
	/* Another allocation's packet on this socket would be a relay
	 * mixing up its clients. */
	if (stamp.allocation != allocation || stamp.sent_ns > now) {
		t->malformed++;
		return false;
	}
	hist_add(&t->rtt, now - stamp.sent_ns);
	return true;
}

static void account(struct receiver *r, unsigned count, uint32_t allocation)
{
	uint64_t now = bench_now_ns(), good = 0;
	unsigned i;

	for (i = 0; i < count; i++)
		good += account_one(r->t, r->bufs[i], r->msgs[i].msg_len,
		                    allocation, now);
	atomic_fetch_add_explicit(&r->t->echoed, good, memory_order_relaxed);
}

static void drain_datagrams(struct receiver *r, uint32_t allocation)
{
	int fd = r->t->clients[allocation].fd, n, round;
	unsigned i;

	for (round = 0; round < RECEIVE_ROUNDS; round++) {
		for (i = 0; i < BENCH_RECV_BATCH; i++) {
			r->iov[i].iov_len = DATAGRAM_MAX;
			r->msgs[i].msg_hdr.msg_flags = 0;
		}
		n = recvmmsg(fd, r->msgs, BENCH_RECV_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		account(r, (unsigned)n, allocation);
		if (n < BENCH_RECV_BATCH)
			return;
	}
}

struct delivery {
	struct traffic *t;
	uint32_t allocation;
	uint64_t good;
};

/* A frame from a stream. The clock is read for each: a read may bring
 * echoes of frames sent after the previous one began. */
static void deliver_frame(void *arg, const uint8_t *frame, size_t len)
{
	struct delivery *d = arg;

	d->good += account_one(d->t, frame, len, d->allocation, bench_now_ns());
}

/* A stream that failed (closed by the server, or out of step with its
 * framing) is read no more: what it would have echoed counts as lost. */
static void drain_stream(struct receiver *r, uint32_t allocation)
{
	struct delivery d = {.t = r->t, .allocation = allocation};
	struct bench_client *c = &r->t->clients[allocation];
	int err;

	err = stream_receive(c->stream, deliver_frame, &d);
	atomic_fetch_add_explicit(&r->t->echoed, d.good, memory_order_relaxed);
	if (err == 0)
		return;
	if (err == EBADMSG)
		r->t->malformed++;
	(void)epoll_ctl(r->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
}

static void *receiver_main(void *arg)
{
	struct receiver *r = arg;
	struct epoll_event events[EPOLL_EVENTS];
	int n, i;

	while (!atomic_load(&r->t->stop_receiver)) {
		n = epoll_wait(r->epoll_fd, events, EPOLL_EVENTS,
		               STOP_CHECK_MS);
		for (i = 0; i < n; i++) {
			if (is_stream(r->t))
				drain_stream(r, events[i].data.u32);
			else
				drain_datagrams(r, events[i].data.u32);
		}
	}
	return NULL;
}

static int receiver_init(struct receiver *r, struct traffic *t)
{
	struct epoll_event ev = {.events = EPOLLIN};
	unsigned i;

	r->t = t;
	r->epoll_fd = -1;
	for (i = 0; i < BENCH_RECV_BATCH; i++) {
		r->iov[i].iov_base = r->bufs[i];
		r->msgs[i].msg_hdr.msg_iov = &r->iov[i];
		r->msgs[i].msg_hdr.msg_iovlen = 1;
	}
	r->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epoll_fd < 0)
		return errno;
	for (i = 0; i < t->options->allocations; i++) {
		ev.data.u32 = i;
		if (epoll_ctl(r->epoll_fd, EPOLL_CTL_ADD, t->clients[i].fd,
		              &ev) != 0)
			return errno;
	}
	return 0;
}

/* No more senders than allocations, nor than packets per second. */
static unsigned sender_count(const struct bench_options *o)
{
	unsigned n = o->senders;

	if (n > o->allocations)
		n = o->allocations;
	if (o->rate > 0 && o->rate < n)
		n = (unsigned)o->rate;
	return n > 0 ? n : 1;
}

/* Streams: the sender's connections, for wait_writable(). */
static int watch_connections(struct sender *s)
{
	const struct traffic *t = s->t;
	unsigned index, n = 0;

	s->connections =
	    (t->options->allocations - s->first + s->step - 1) / s->step;
	s->writable = calloc(s->connections, sizeof(*s->writable));
	if (s->writable == NULL)
		return ENOMEM;
	for (index = s->first; index < t->options->allocations;
	     index += s->step) {
		s->writable[n].fd = t->clients[index].fd;
		s->writable[n++].events = POLLOUT;
	}
	return 0;
}

static int senders_create(struct traffic *t)
{
	unsigned i, n = sender_count(t->options);
	uint64_t rate = t->options->rate;
	struct sender *s;
	int err;

	s = calloc(n, sizeof(*s));
	if (s == NULL)
		return ENOMEM;
	t->senders = s;
	t->sender_count = n;
	for (i = 0; i < n; i++) {
		s[i].t = t;
		s[i].first = i;
		s[i].step = n;
		s[i].rate = rate / n + (i < rate % n ? 1 : 0);
		err = build_template(&s[i]);
		if (err == 0 && is_stream(t))
			err = watch_connections(&s[i]);
		if (err != 0)
			return err;
	}
	return 0;
}

static int receiver_start(struct traffic *t)
{
	struct receiver *r;
	int err;

	r = calloc(1, sizeof(*r));
	t->receiver_state = r;
	if (r == NULL)
		return ENOMEM;
	err = receiver_init(r, t);
	if (err == 0)
		err = pthread_create(&t->receiver, NULL, receiver_main, r);
	t->receiver_running = err == 0;
	return err;
}

int traffic_start(struct traffic *t)
{
	struct sender *s;
	unsigned i;
	int err;

	err = senders_create(t);
	if (err == 0 && t->options->echo)
		err = receiver_start(t);
	t->start_ns = bench_now_ns() + START_DELAY_NS;
	s = t->senders;
	for (i = 0; err == 0 && i < t->sender_count; i++) {
		err = pthread_create(&s[i].thread, NULL, sender_main, &s[i]);
		s[i].started = err == 0;
	}
	if (err != 0) {
		/* Those already running stop by themselves at the end of
		 * the duration. */
		traffic_wait_sender(t);
		traffic_stop(t);
	}
	return err;
}

void traffic_wait_sender(struct traffic *t)
{
	struct sender *s = t->senders;
	unsigned i;

	t->sent = t->send_errors = 0;
	t->lag_max_ns = 0;
	t->end_ns = t->start_ns;
	for (i = 0; s != NULL && i < t->sender_count; i++) {
		if (!s[i].started)
			continue;
		pthread_join(s[i].thread, NULL);
		s[i].started = false;
		t->sent += s[i].sent;
		t->send_errors += s[i].send_errors;
		if (s[i].lag_max_ns > t->lag_max_ns)
			t->lag_max_ns = s[i].lag_max_ns;
		if (s[i].send_error != 0)
			t->send_error = s[i].send_error;
		if (s[i].end_ns > t->end_ns)
			t->end_ns = s[i].end_ns;
	}
}

void traffic_stop(struct traffic *t)
{
	struct receiver *r = t->receiver_state;
	struct sender *s = t->senders;
	unsigned i;

	if (t->receiver_running) {
		atomic_store(&t->stop_receiver, true);
		pthread_join(t->receiver, NULL);
		t->receiver_running = false;
	}
	if (r != NULL) {
		if (r->epoll_fd >= 0)
			close(r->epoll_fd);
		free(r);
		t->receiver_state = NULL;
	}
	for (i = 0; s != NULL && i < t->sender_count; i++)
		free(s[i].writable);
	free(t->senders);
	t->senders = NULL;
}

uint64_t traffic_echoed(const struct traffic *t)
{
	return atomic_load_explicit(&t->echoed, memory_order_relaxed);
}
