/*
 * The traffic threads. Each sender goes round its share of the
 * allocations (every n-th, for n senders), one sendmmsg() batch per client
 * socket, flat out or paced to its share of the total rate; every payload
 * carries its send time, a sequence number and the index of its
 * allocation. In echo mode a receiver thread waits on all client sockets
 * with epoll, drains them with recvmmsg() and records each round trip in a
 * histogram. No thread allocates, locks or logs once running.
 */
#include "config.h"

#include <errno.h>
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
	int send_error;
	size_t length;         /* of each datagram */
	size_t payload_offset; /* where the peer's bytes start */
	uint32_t sequence;
	uint8_t bufs[BENCH_SEND_BATCH][DATAGRAM_MAX];
	struct mmsghdr msgs[BENCH_SEND_BATCH];
	struct iovec iov[BENCH_SEND_BATCH];
};

/* ChannelData (RFC 8656 §12.4; no padding over UDP) or a Send indication
 * (§11.1) with XOR-PEER-ADDRESS and DATA. The same bytes suit every
 * allocation: each has its own channel 0x4000 and the same peer. */
static int build_template(struct sender *s)
{
	const struct bench_options *options = s->t->options;
	static const uint8_t zeros[BENCH_PAYLOAD_MAX];
	uint8_t tid[STUN_TID_SIZE] = {'t', 'u', 'r', 'n', 'p', 'i',
	                              'k', 'e', 'b', 'e', 'n', 'c'};
	struct stun_writer w;

	if (!options->send_indications) {
		stun_channel_data_header(s->bufs[0], BENCH_CHANNEL,
		                         (uint16_t)options->payload);
		memset(s->bufs[0] + 4, 0, options->payload);
		s->payload_offset = STUN_CHANNEL_DATA_HEADER_SIZE;
		s->length = STUN_CHANNEL_DATA_HEADER_SIZE + options->payload;
		return 0;
	}
	/* Indications are never answered, so one transaction id does. */
	stun_writer_init(&w, s->bufs[0], DATAGRAM_MAX, STUN_METHOD_SEND,
	                 STUN_CLASS_INDICATION, tid);
	stun_put_xor_address(&w, STUN_ATTR_XOR_PEER_ADDRESS,
	                     (const struct sockaddr *)&s->t->peer);
	s->payload_offset = w.length + STUN_ATTR_HEADER_SIZE;
	stun_put_bytes(&w, STUN_ATTR_DATA, zeros, options->payload);
	return stun_writer_finish(&w, &s->length);
}

static void stamp_batch(struct sender *s, unsigned count, uint64_t now,
                        uint32_t allocation)
{
	struct stamp stamp = {.sent_ns = now, .allocation = allocation};
	unsigned i;

	for (i = 0; i < count; i++) {
		stamp.sequence = s->sequence++;
		memcpy(s->bufs[i] + s->payload_offset, &stamp, sizeof(stamp));
	}
}

/* How many packets may leave now: all a batch holds when flat out;
 * paced, those whose time (start + k / rate) has come. */
static unsigned due(const struct sender *s, uint64_t scheduled, uint64_t now,
                    uint64_t *wake)
{
	const struct traffic *t = s->t;
	uint64_t rate = s->rate, by_now;

	if (rate == 0)
		return BENCH_SEND_BATCH;
	by_now =
	    (uint64_t)((double)(now - t->start_ns) * (double)rate / 1e9) + 1;
	if (by_now <= scheduled) {
		*wake = t->start_ns +
		        (uint64_t)((double)scheduled * 1e9 / (double)rate);
		return 0;
	}
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

static void send_loop(struct sender *s)
{
	struct traffic *t = s->t;
	uint64_t end = t->start_ns + (uint64_t)(t->options->duration * 1e9);
	uint64_t scheduled = 0, now, wake = 0;
	unsigned index = s->first, count;
	int sent;

	sleep_until(t->start_ns);
	while ((now = bench_now_ns()) < end) {
		count = due(s, scheduled, now, &wake);
		if (count == 0) {
			sleep_until(wake < end ? wake : end);
			continue;
		}
		stamp_batch(s, count, now, index);
		sent = sendmmsg(t->clients[index].fd, s->msgs, count,
		                MSG_DONTWAIT);
		if (sent < 0) {
			s->send_error = errno;
			sent = 0;
		}
		/* What the kernel did not take was not offered: counted, not
		 * retried, so that pacing holds its schedule. */
		s->send_errors += count - (unsigned)sent;
		s->sent += (unsigned)sent;
		scheduled += count;
		index += s->step;
		if (index >= t->options->allocations)
			index = s->first;
	}
	s->end_ns = now;
}

static void *sender_main(void *arg)
{
	struct sender *s = arg;
	unsigned i;

	for (i = 0; i < BENCH_SEND_BATCH; i++) {
		if (i > 0)
			memcpy(s->bufs[i], s->bufs[0], s->length);
		s->iov[i].iov_base = s->bufs[i];
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

static void account(struct receiver *r, unsigned count, uint32_t allocation)
{
	struct traffic *t = r->t;
	uint64_t now = bench_now_ns(), good = 0;
	const uint8_t *payload;
	struct stamp stamp;
	size_t len;
	unsigned i;

	for (i = 0; i < count; i++) {
		payload = payload_of(r->bufs[i], r->msgs[i].msg_len, &len);
		if (payload == NULL || len < sizeof(stamp)) {
			t->malformed++;
			continue;
		}
		memcpy(&stamp, payload, sizeof(stamp));
		/* Another allocation's packet on this socket would be a
		 * relay mixing up its clients. */
		if (stamp.allocation != allocation || stamp.sent_ns > now) {
			t->malformed++;
			continue;
		}
		hist_add(&t->rtt, now - stamp.sent_ns);
		good++;
	}
	atomic_fetch_add_explicit(&t->echoed, good, memory_order_relaxed);
}

static void drain(struct receiver *r, uint32_t allocation)
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

static void *receiver_main(void *arg)
{
	struct receiver *r = arg;
	struct epoll_event events[EPOLL_EVENTS];
	int n, i;

	while (!atomic_load(&r->t->stop_receiver)) {
		n = epoll_wait(r->epoll_fd, events, EPOLL_EVENTS,
		               STOP_CHECK_MS);
		for (i = 0; i < n; i++)
			drain(r, events[i].data.u32);
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
	t->end_ns = t->start_ns;
	for (i = 0; s != NULL && i < t->sender_count; i++) {
		if (!s[i].started)
			continue;
		pthread_join(s[i].thread, NULL);
		s[i].started = false;
		t->sent += s[i].sent;
		t->send_errors += s[i].send_errors;
		if (s[i].send_error != 0)
			t->send_error = s[i].send_error;
		if (s[i].end_ns > t->end_ns)
			t->end_ns = s[i].end_ns;
	}
}

void traffic_stop(struct traffic *t)
{
	struct receiver *r = t->receiver_state;

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
	free(t->senders);
	t->senders = NULL;
}

uint64_t traffic_echoed(const struct traffic *t)
{
	return atomic_load_explicit(&t->echoed, memory_order_relaxed);
}
