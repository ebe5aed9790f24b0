/*
 * The peer the allocations relay to, on a local address.
 *
 * Sink (one-way mode): counting arrivals must not cost the generator a
 * system call per datagram, or on a 2-core machine the count itself would
 * steal the server's CPU. A classic BPF filter of one instruction, "ret
 * #0", makes the kernel drop every datagram as it reaches the socket, and
 * Linux's UDP receive path counts a filter drop in the socket's sk_drops
 * (udp_queue_rcv_one_skb(): sk_filter_trim_cap() fails, goto drop), which
 * SO_MEMINFO reads as SK_MEMINFO_DROPS and /proc/net/udp shows in its
 * "drops" column. Nothing is queued and nothing is copied. Whether this
 * kernel counts them is checked at start by sending probes to the sink;
 * if it does not, a thread drains the socket with recvmmsg() batches and
 * MSG_TRUNC into a tiny buffer instead.
 *
 * Echo: a thread receives batches and sends each datagram back to the
 * relayed address it came from.
 */
#include "config.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/sock_diag.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "turnpike/net.h"
#include "bench.h"

#ifndef SO_MEMINFO
#define SO_MEMINFO 55
#endif

#define PEER_BUFFER   (8 * 1024 * 1024)
#define PROBES        16
#define PROBE_WAIT_NS 500000000ull

static int read_drops(int fd, uint32_t *drops)
{
	uint32_t meminfo[SK_MEMINFO_VARS];
	socklen_t len = sizeof(meminfo);

	if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, meminfo, &len) != 0)
		return errno;
	if (len <= SK_MEMINFO_DROPS * sizeof(uint32_t))
		return ENOTSUP;
	*drops = meminfo[SK_MEMINFO_DROPS];
	return 0;
}

static int attach_drop_all(int fd)
{
	struct sock_filter code[] = {BPF_STMT(BPF_RET | BPF_K, 0)};
	struct sock_fprog program = {.len = 1, .filter = code};

	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program,
	               sizeof(program)) != 0)
		return errno;
	return 0;
}

/* Sends probes to the filtered sink and watches its drop counter. */
static bool filter_drops_counted(struct peer *p)
{
	uint32_t before = 0, after = 0;
	uint64_t deadline;
	char probe[8] = "probe";
	int fd, i;

	if (read_drops(p->fd, &before) != 0)
		return false;
	fd = socket(p->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	for (i = 0; i < PROBES; i++)
		(void)sendto(fd, probe, sizeof(probe), 0,
		             (struct sockaddr *)&p->addr,
		             net_addr_len((struct sockaddr *)&p->addr));
	close(fd);
	deadline = bench_now_ns() + PROBE_WAIT_NS;
	while (bench_now_ns() < deadline) {
		if (read_drops(p->fd, &after) != 0)
			return false;
		if (after - before >= PROBES)
			break;
		nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	}
	p->drops_last = after;
	return after - before == PROBES;
}

/* Stays a sink without the filter: the drain thread will count. */
static void detach(struct peer *p)
{
	int zero = 0;

	(void)setsockopt(p->fd, SOL_SOCKET, SO_DETACH_FILTER, &zero,
	                 sizeof(zero));
	p->filtered = false;
}

int peer_open(struct peer *p, const struct sockaddr *addr, bool echo,
              char *error, size_t error_size)
{
	struct timeval tv = {.tv_usec = 100000};
	socklen_t len = sizeof(p->addr);
	int size = PEER_BUFFER;

	memset(p, 0, sizeof(*p));
	p->echo = echo;
	p->fd = socket(addr->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (p->fd < 0 || bind(p->fd, addr, net_addr_len(addr)) != 0 ||
	    getsockname(p->fd, (struct sockaddr *)&p->addr, &len) != 0) {
		int err = errno;

		snprintf(error, error_size, "peer socket: %s", strerror(err));
		if (p->fd >= 0)
			close(p->fd);
		p->fd = -1;
		return err;
	}
	/* The wake-up that lets a blocked thread see the stop flag. */
	(void)setsockopt(p->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(p->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	(void)setsockopt(p->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (echo)
		return 0;
	p->filtered = attach_drop_all(p->fd) == 0;
	if (p->filtered && !filter_drops_counted(p))
		detach(p);
	return 0;
}

/* recvmmsg() into the batch; the echo sends the same batch back. */
static void *peer_main(void *arg)
{
	struct peer *p = arg;
	static const size_t sink_size = 16;
	uint8_t bufs[BENCH_RECV_BATCH][BENCH_PAYLOAD_MAX + 64];
	struct sockaddr_storage from[BENCH_RECV_BATCH];
	struct mmsghdr msgs[BENCH_RECV_BATCH];
	struct iovec iov[BENCH_RECV_BATCH];
	int i, n;

	while (!atomic_load_explicit(&p->stop, memory_order_relaxed)) {
		for (i = 0; i < BENCH_RECV_BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = p->echo ? sizeof(bufs[i]) : sink_size;
			memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &from[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
		n = recvmmsg(p->fd, msgs, BENCH_RECV_BATCH, MSG_WAITFORONE,
		             NULL);
		if (n <= 0)
			continue;
		atomic_fetch_add_explicit(&p->received, (uint64_t)n,
		                          memory_order_relaxed);
		if (!p->echo)
			continue;
		for (i = 0; i < n; i++)
			iov[i].iov_len = msgs[i].msg_len;
		/* A full send buffer loses the rest of the batch; the
		 * client side sees it as loss, which it is. */
		(void)sendmmsg(p->fd, msgs, (unsigned)n, 0);
	}
	return NULL;
}

int peer_start(struct peer *p)
{
	int err;

	if (p->filtered)
		return 0;
	atomic_store(&p->stop, false);
	err = pthread_create(&p->thread, NULL, peer_main, p);
	if (err == 0)
		p->running = true;
	return err;
}

uint64_t peer_arrivals(struct peer *p)
{
	uint32_t now = 0;

	if (!p->filtered)
		return atomic_load(&p->received);
	/* The counter is 32 bits: read often enough (every run reads it
	 * at least every 100 ms), the unsigned difference survives a wrap. */
	if (read_drops(p->fd, &now) == 0) {
		p->drops += (uint32_t)(now - p->drops_last);
		p->drops_last = now;
	}
	return p->drops;
}

void peer_close(struct peer *p)
{
	if (p->running) {
		atomic_store(&p->stop, true);
		pthread_join(p->thread, NULL);
		p->running = false;
	}
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}
