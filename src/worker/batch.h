/*
 * Relay batches: the datagrams one pass of the packet path sends through
 * one socket, flushed with a single sendmmsg(). Runs of datagrams to the
 * same destination and of the same size go out as one UDP GSO message
 * (UDP_SEGMENT, Linux 4.18): the stack handles the run once and cuts it
 * into datagrams at the end, which is most of the send cost saved. The
 * receiver sees ordinary datagrams.
 */
#ifndef TURNPIKE_WORKER_BATCH_H
#define TURNPIKE_WORKER_BATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "worker_private.h"

struct relay_batch {
	int fd;
	unsigned count;
	struct iovec iov[WORKER_BATCH];
	const struct sockaddr *to[WORKER_BATCH]; /* NULL: connected socket */
	uint32_t payload[WORKER_BATCH];          /* for the byte counters */
	/* Built by the flush: one message per run. */
	struct mmsghdr messages[WORKER_BATCH];
	unsigned first[WORKER_BATCH]; /* a message's first datagram */
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} control[WORKER_BATCH];
};

void batch_init(struct relay_batch *batch, int fd);
/* Adds a datagram; the data and the address stay borrowed until the
 * flush. At most WORKER_BATCH before a flush. */
void batch_add(struct relay_batch *batch, const void *data, size_t length,
               const struct sockaddr *to, size_t payload);
/* Keeps the datagrams for which keep(batch, i, arg) is true, in order;
 * the others leave the batch unsent. */
void batch_filter(struct relay_batch *batch,
                  bool (*keep)(struct relay_batch *batch, unsigned i,
                               void *arg),
                  void *arg);
/* What a flush sent: datagrams and their payload bytes. */
struct batch_sent {
	uint64_t packets;
	uint64_t bytes;
};

/* Sends what the batch holds and returns what left; what the kernel
 * refused (a full socket buffer) is counted in tx_errors, as a congested
 * link would have dropped it. The batch is empty after. */
struct batch_sent batch_flush(struct worker *worker, struct relay_batch *batch);

#endif
