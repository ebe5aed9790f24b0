/*
 * Relay batches, with UDP GSO for runs to one destination (batch.h).
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>

#include "turnpike/net.h"
#include "batch.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103 /* linux/udp.h */
#endif
/* The kernel takes at most 64 segments in one send (UDP_MAX_SEGMENTS
 * before Linux 6.x; later kernels take 128), and the whole must fit one
 * IPv6 UDP datagram's 65,527 payload bytes. */
#define BATCH_MAX_SEGMENTS  64
#define BATCH_MAX_GSO_BYTES 65000

void batch_init(struct relay_batch *batch, int fd)
{
	batch->fd = fd;
	batch->count = 0;
}

void batch_add(struct relay_batch *batch, const void *data, size_t length,
               const struct sockaddr *to, size_t payload)
{
	unsigned i = batch->count++;

	batch->iov[i].iov_base = (void *)data;
	batch->iov[i].iov_len = length;
	batch->to[i] = to;
	batch->payload[i] = (uint32_t)payload;
}

void batch_filter(struct relay_batch *batch,
                  bool (*keep)(struct relay_batch *batch, unsigned i,
                               void *arg),
                  void *arg)
{
	unsigned i, kept = 0;

	for (i = 0; i < batch->count; i++) {
		if (!keep(batch, i, arg))
			continue;
		batch->iov[kept] = batch->iov[i];
		batch->to[kept] = batch->to[i];
		batch->payload[kept] = batch->payload[i];
		kept++;
	}
	batch->count = kept;
}

static bool same_destination(const struct sockaddr *a, const struct sockaddr *b)
{
	return a == b || (a != NULL && b != NULL && net_addr_equal(a, b));
}

/* Where the run starting at `first` ends (exclusive): same destination,
 * every datagram but the last exactly the first's size, the last not
 * bigger (GSO cuts at the segment size). */
static unsigned run_end(const struct relay_batch *batch, unsigned first)
{
	size_t segment = batch->iov[first].iov_len, total = segment;
	unsigned i = first + 1;

	while (i < batch->count && i - first < BATCH_MAX_SEGMENTS &&
	       batch->iov[i - 1].iov_len == segment &&
	       batch->iov[i].iov_len <= segment && batch->iov[i].iov_len > 0 &&
	       total + batch->iov[i].iov_len <= BATCH_MAX_GSO_BYTES &&
	       same_destination(batch->to[i], batch->to[first])) {
		total += batch->iov[i].iov_len;
		i++;
	}
	return i;
}

static void set_segment(struct relay_batch *batch, unsigned m, uint16_t segment)
{
	struct msghdr *h = &batch->messages[m].msg_hdr;
	struct cmsghdr *c;

	h->msg_control = batch->control[m].buf;
	h->msg_controllen = sizeof(batch->control[m].buf);
	c = CMSG_FIRSTHDR(h);
	c->cmsg_level = SOL_UDP;
	c->cmsg_type = UDP_SEGMENT;
	c->cmsg_len = CMSG_LEN(sizeof(segment));
	memcpy(CMSG_DATA(c), &segment, sizeof(segment));
}

/* One message per run (gso) or per datagram; returns the count. */
static unsigned build(struct relay_batch *batch, bool gso)
{
	unsigned m = 0, i = 0, end;

	while (i < batch->count) {
		struct msghdr *h = &batch->messages[m].msg_hdr;

		end = gso ? run_end(batch, i) : i + 1;
		memset(h, 0, sizeof(*h));
		h->msg_iov = &batch->iov[i];
		h->msg_iovlen = end - i;
		if (batch->to[i] != NULL) {
			h->msg_name = (void *)batch->to[i];
			h->msg_namelen = net_addr_len(batch->to[i]);
		}
		if (end - i > 1)
			set_segment(batch, m, (uint16_t)batch->iov[i].iov_len);
		batch->first[m++] = i;
		i = end;
	}
	return m;
}

struct batch_sent batch_flush(struct worker *worker, struct relay_batch *batch)
{
	struct batch_sent done = {0, 0};
	unsigned messages, m, i, last;
	int sent;

	if (batch->count == 0)
		return done;
	messages = build(batch, true);
	sent = sendmmsg(batch->fd, batch->messages, messages, MSG_DONTWAIT);
	if (sent < 0 && messages < batch->count && errno != EAGAIN &&
	    errno != ENOBUFS) {
		/* Segmentation refused (a device without it, a segment over
		 * the path MTU): the same datagrams one by one. */
		worker->metrics->tx_gso_refused++;
		messages = build(batch, false);
		sent = sendmmsg(batch->fd, batch->messages, messages,
		                MSG_DONTWAIT);
	}
	if (sent < 0)
		sent = 0;
	for (m = 0; m < (unsigned)sent; m++) {
		last = m + 1 < messages ? batch->first[m + 1] : batch->count;
		for (i = batch->first[m]; i < last; i++)
			done.bytes += batch->payload[i];
		done.packets += last - batch->first[m];
		if (last - batch->first[m] > 1)
			worker->metrics->tx_gso_sends++;
	}
	worker->metrics->tx_errors += batch->count - done.packets;
	batch_init(batch, batch->fd);
	return done;
}
