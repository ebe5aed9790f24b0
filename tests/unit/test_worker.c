/*
 * worker: the relay batch (src/worker/batch.c) over real loopback
 * sockets. Runs of datagrams to one destination go out as UDP GSO
 * messages; the receivers must see exactly the datagrams that were added,
 * in order, with their sizes, whatever the runs were.
 */
#include "config.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "../../src/worker/batch.h"

static int udp_socket(struct sockaddr_in *addr)
{
	socklen_t len = sizeof(*addr);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	cr_assert_geq(fd, 0);
	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)addr, sizeof(*addr)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)addr, &len), 0);
	return fd;
}

/* Receives one datagram: its length, and its first byte in *tag. */
static ssize_t receive(int fd, unsigned char *tag)
{
	unsigned char buf[2048];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n > 0)
		*tag = buf[0];
	return n;
}

static unsigned char data[WORKER_BATCH][1500];

Test(batch, runs_leave_as_the_datagrams_that_were_added)
{
	struct metrics_worker metrics = {0};
	struct worker worker = {.metrics = &metrics};
	struct sockaddr_in a_addr, b_addr, from;
	struct relay_batch batch;
	struct batch_sent sent;
	uint64_t payload = 0;
	/* (destination, size) in order: a run of 5 at 100 with a shorter
	 * tail, a size change, another destination, a run back to a. */
	const struct {
		int to_b;
		size_t size;
	} plan[] = {{0, 100}, {0, 100}, {0, 100}, {0, 100}, {0, 60},  {0, 100},
	            {0, 200}, {1, 100}, {1, 100}, {0, 300}, {0, 300}, {0, 300}};
	const unsigned count = sizeof(plan) / sizeof(plan[0]);
	int sender = udp_socket(&from);
	int a = udp_socket(&a_addr), b = udp_socket(&b_addr);
	unsigned i, got_a = 0, got_b = 0;

	batch_init(&batch, sender);
	for (i = 0; i < count; i++) {
		memset(data[i], (int)i, plan[i].size);
		batch_add(&batch, data[i], plan[i].size,
		          plan[i].to_b ? (struct sockaddr *)&b_addr
		                       : (struct sockaddr *)&a_addr,
		          plan[i].size - 4);
		payload += plan[i].size - 4;
	}
	sent = batch_flush(&worker, &batch);
	cr_assert_eq(sent.packets, count);
	cr_assert_eq(sent.bytes, payload, "the payloads are counted");
	cr_assert_eq(batch.count, 0, "the batch is empty after");
	cr_assert_eq(metrics.tx_errors, 0);
	cr_assert_gt(metrics.tx_gso_sends, 0, "runs went out as GSO");
	for (i = 0; i < count; i++) {
		unsigned char tag = 0xFF;
		ssize_t n = receive(plan[i].to_b ? b : a, &tag);

		cr_assert_eq(n, (ssize_t)plan[i].size, "datagram %u: %zd bytes",
		             i, n);
		cr_assert_eq(tag, i, "datagram %u arrived out of order", i);
		got_a += !plan[i].to_b;
		got_b += plan[i].to_b;
	}
	{
		unsigned char tag;

		cr_assert_lt(receive(a, &tag), 0, "nothing more for a");
		cr_assert_lt(receive(b, &tag), 0, "nothing more for b");
	}
	cr_assert_eq(got_a + got_b, count);
	close(sender);
	close(a);
	close(b);
}

Test(batch, a_run_bigger_than_a_datagram_is_cut_into_several_messages)
{
	struct metrics_worker metrics = {0};
	struct worker worker = {.metrics = &metrics};
	struct sockaddr_in to, from;
	struct relay_batch batch;
	struct batch_sent sent;
	int sender = udp_socket(&from), receiver = udp_socket(&to);
	int size = 1 << 20;
	unsigned i;

	cr_assert_eq(
	    setsockopt(receiver, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)),
	    0);
	/* 64 datagrams of 1400 bytes: 89,600 bytes, more than one UDP
	 * datagram may carry, so more than one GSO message. */
	batch_init(&batch, sender);
	for (i = 0; i < WORKER_BATCH; i++) {
		memset(data[i], (int)i, 1400);
		batch_add(&batch, data[i], 1400, (struct sockaddr *)&to, 1400);
	}
	sent = batch_flush(&worker, &batch);
	cr_assert_eq(sent.packets, WORKER_BATCH);
	cr_assert_eq(sent.bytes, WORKER_BATCH * 1400);
	cr_assert_geq(metrics.tx_gso_sends, 2);
	for (i = 0; i < WORKER_BATCH; i++) {
		unsigned char tag = 0xFF;

		cr_assert_eq(receive(receiver, &tag), 1400);
		cr_assert_eq(tag, i);
	}
	close(sender);
	close(receiver);
}
