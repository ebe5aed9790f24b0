/*
 * -m wakeup: what this machine charges a thread for being woken, with no
 * relay in the way. A receiver thread blocks in recv() on a UDP socket on
 * 127.0.0.1 and a sender paces datagrams to it at -r per second for -d
 * seconds, once from another CPU (the layout of the per-core scenarios:
 * server on one CPU, generator on the other) and once from the receiver's
 * own CPU. The receiver's CPU time per wakeup, from its schedstat, is the
 * floor of any server's CPU per packet at rates low enough that it sleeps
 * between packets. On bare metal it is a microsecond or two either way; on
 * a virtual machine whose idle CPUs halt, a wakeup from another CPU costs
 * the woken thread the exit from the halt as well.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define WAKEUP_DEFAULT_RATE 2000
#define WAKEUP_PAYLOAD      100

struct wakeup_run {
	int receiver_cpu, sender_cpu;
	uint64_t rate;
	double seconds;
	int fd;
	pid_t receiver_tid;
	atomic_bool ready, stop;
	uint64_t received;
	/* The receiver's schedstat over the sending: run time and times it
	 * was scheduled in. */
	unsigned long long cpu_ns, runs;
	int err;
};

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) == 0 ? 0 : errno;
}

static int read_schedstat(pid_t tid, unsigned long long *ns,
                          unsigned long long *runs)
{
	char path[64];
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", (int)tid);
	f = fopen(path, "re");
	if (f == NULL)
		return errno;
	n = fscanf(f, "%llu %*s %llu", ns, runs);
	fclose(f);
	return n == 2 ? 0 : EIO;
}

static void *receiver_main(void *arg)
{
	struct wakeup_run *w = arg;
	char buffer[2048];

	w->err = pin(w->receiver_cpu);
	w->receiver_tid = (pid_t)syscall(SYS_gettid);
	atomic_store(&w->ready, true);
	/* The socket's receive timeout (a second) ends the loop should the
	 * last datagram (one byte, not counted) be lost. */
	while (!atomic_load(&w->stop))
		if (recv(w->fd, buffer, sizeof(buffer), 0) == WAKEUP_PAYLOAD)
			w->received++;
	return NULL;
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Paces rate * seconds datagrams on the connected socket fd. */
static void send_paced(const struct wakeup_run *w, int fd)
{
	uint64_t next = monotonic_ns(), step = 1000000000ull / w->rate;
	uint64_t i, count = (uint64_t)((double)w->rate * w->seconds);
	char payload[WAKEUP_PAYLOAD] = {0};

	for (i = 0; i < count; i++) {
		struct timespec ts;

		next += step;
		ts.tv_sec = (time_t)(next / 1000000000ull);
		ts.tv_nsec = (long)(next % 1000000000ull);
		(void)clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
		                      NULL);
		(void)send(fd, payload, sizeof(payload), 0);
	}
}

/* A receiving socket on 127.0.0.1 and a sender connected to it. */
static int open_pair(int *receiver, int *sender)
{
	struct sockaddr_in addr = {.sin_family = AF_INET,
	                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct timeval second = {1, 0};
	socklen_t length = sizeof(addr);

	*receiver = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	*sender = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (*receiver < 0 || *sender < 0 ||
	    setsockopt(*receiver, SOL_SOCKET, SO_RCVTIMEO, &second,
	               sizeof(second)) != 0 ||
	    bind(*receiver, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
	    getsockname(*receiver, (struct sockaddr *)&addr, &length) != 0 ||
	    connect(*sender, (struct sockaddr *)&addr, length) != 0)
		return errno;
	return 0;
}

static int measure(struct wakeup_run *w)
{
	unsigned long long ns0, runs0, ns1, runs1;
	struct timespec settle = {0, 100000000};
	int receiver = -1, sender = -1, err;
	pthread_t thread;

	err = open_pair(&receiver, &sender);
	if (err == 0)
		err = pin(w->sender_cpu);
	w->fd = receiver;
	if (err == 0 && pthread_create(&thread, NULL, receiver_main, w) != 0)
		err = EAGAIN;
	if (err != 0)
		goto out;
	while (!atomic_load(&w->ready))
		nanosleep(&settle, NULL);
	nanosleep(&settle, NULL); /* blocked in recv() by now */
	err = read_schedstat(w->receiver_tid, &ns0, &runs0);
	if (err == 0) {
		send_paced(w, sender);
		nanosleep(&settle, NULL);
		err = read_schedstat(w->receiver_tid, &ns1, &runs1);
	}
	atomic_store(&w->stop, true);
	(void)send(sender, "", 1, 0);
	pthread_join(thread, NULL);
	if (err == 0 && w->err != 0)
		err = w->err;
	w->cpu_ns = err == 0 ? ns1 - ns0 : 0;
	w->runs = err == 0 ? runs1 - runs0 : 0;
out:
	if (receiver >= 0)
		close(receiver);
	if (sender >= 0)
		close(sender);
	return err;
}

/* The first two CPUs this process may run on: the per-core scenarios pin
 * the server and the generator to two of them. */
static int two_cpus(int cpus[2])
{
	cpu_set_t set;
	int cpu, n = 0;

	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return errno;
	for (cpu = 0; cpu < CPU_SETSIZE && n < 2; cpu++)
		if (CPU_ISSET(cpu, &set))
			cpus[n++] = cpu;
	return n == 2 ? 0 : ENODEV;
}

static double per_wakeup_us(const struct wakeup_run *w)
{
	return w->runs > 0 ? (double)w->cpu_ns / 1e3 / (double)w->runs : 0;
}

static double per_datagram(const struct wakeup_run *w)
{
	return w->received > 0 ? (double)w->runs / (double)w->received : 0;
}

int run_wakeup(const struct bench_options *o)
{
	struct wakeup_run runs[2];
	int cpus[2], err;
	unsigned i;

	err = two_cpus(cpus);
	if (err != 0) {
		fprintf(stderr, "turnpike-bench: -m wakeup needs two CPUs\n");
		return err;
	}
	for (i = 0; i < 2; i++) {
		memset(&runs[i], 0, sizeof(runs[i]));
		runs[i].receiver_cpu = cpus[0];
		runs[i].sender_cpu = cpus[i == 0 ? 1 : 0];
		runs[i].rate = o->rate > 0 ? o->rate : WAKEUP_DEFAULT_RATE;
		runs[i].seconds = o->duration / 2;
		err = measure(&runs[i]);
		if (err != 0) {
			fprintf(stderr,
			        "turnpike-bench: wakeup: %s (schedstat needs "
			        "a kernel with CONFIG_SCHED_INFO)\n",
			        strerror(err));
			return err;
		}
	}
	if (!o->quiet)
		printf("wakeup, a thread blocked in recv() on CPU %d, %llu "
		       "datagrams/s:\n"
		       "  from CPU %d (another):  %6.2f us CPU per wakeup, "
		       "%.3f wakeups per datagram\n"
		       "  from CPU %d (its own):  %6.2f us CPU per wakeup, "
		       "%.3f wakeups per datagram\n",
		       cpus[0], (unsigned long long)runs[0].rate, cpus[1],
		       per_wakeup_us(&runs[0]), per_datagram(&runs[0]), cpus[0],
		       per_wakeup_us(&runs[1]), per_datagram(&runs[1]));
	printf(
	    "RESULT mode=wakeup rate=%llu receiver_cpu=%d "
	    "received_cross=%llu received_same=%llu "
	    "cross_cpu_us_per_wakeup=%.2f cross_cpu_wakeups_per_datagram=%.3f "
	    "same_cpu_us_per_wakeup=%.2f same_cpu_wakeups_per_datagram=%.3f\n",
	    (unsigned long long)runs[0].rate, cpus[0],
	    (unsigned long long)runs[0].received,
	    (unsigned long long)runs[1].received, per_wakeup_us(&runs[0]),
	    per_datagram(&runs[0]), per_wakeup_us(&runs[1]),
	    per_datagram(&runs[1]));
	return 0;
}
