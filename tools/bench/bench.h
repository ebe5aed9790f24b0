/*
 * turnpike-bench: a TURN load generator. The parts talk through this
 * private header: the command line (main.c), the two modes (run.c) and
 * their report (report.c), the STUN/TURN client (client.c), the setup and
 * allocation-rate pools (alloc.c), the traffic threads (traffic.c), TCP
 * and TLS connections (stream.c), the peer (peer.c), the server's CPU from
 * /proc (procstat.c) and latency histograms (hist.c).
 *
 * Functions return 0 or a positive errno value, and say what went wrong in
 * an error buffer the caller owns when there is more to say than errno.
 */
#ifndef TURNPIKE_BENCH_H
#define TURNPIKE_BENCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "turnpike/stun.h"

#define BENCH_SEND_BATCH  32 /* datagrams per sendmmsg() */
#define BENCH_RECV_BATCH  64 /* datagrams per recvmmsg() */
#define BENCH_PAYLOAD_MIN 16 /* timestamp and sequence number */
#define BENCH_PAYLOAD_MAX 4000
/* Under the 300 s permission lifetime (RFC 8656 §9), so that a run never
 * needs to refresh what it set up. */
#define BENCH_DURATION_MAX 250.0
#define BENCH_MAX_PIDS     256
#define BENCH_MAX_NAMES    8
#define BENCH_THREADS_MAX  256
#define BENCH_SENDERS_MAX  16
#define BENCH_ERROR_SIZE   256
/* The channel every allocation binds: each allocation has its own channel
 * numbers (RFC 8656 §12), so one number serves them all. */
#define BENCH_CHANNEL 0x4000

/* The largest frame a client sends or receives with payloads of p bytes:
 * a Send or Data indication's header and attributes, with room to spare,
 * around the payload padded to 4. */
#define BENCH_FRAME_MAX(p) ((((size_t)(p) + 3u) & ~(size_t)3u) + 128u)

enum bench_mode {
	BENCH_MODE_FLOW,
	BENCH_MODE_ALLOC,
	BENCH_MODE_LIMITER,
	BENCH_MODE_WAKEUP,
};

/* How clients reach the server (RFC 8656 §3.1). */
enum bench_transport {
	BENCH_TRANSPORT_UDP,
	BENCH_TRANSPORT_TCP,
	BENCH_TRANSPORT_TLS,
};

/* The command line, checked; immutable once parsed. */
struct bench_options {
	struct sockaddr_storage server;
	struct sockaddr_storage peer; /* where the peer binds; port 0 */
	const char *user;
	const char *password;
	const char *secret;
	enum bench_mode mode;
	enum bench_transport transport;
	const char *ca_file; /* TLS: verify the server against it; NULL: no
	                        verification */
	unsigned allocations;
	unsigned payload;
	double duration;
	uint64_t rate; /* packets per second over all allocations; 0 = max */
	bool send_indications;
	bool echo;
	unsigned senders;
	unsigned count;
	unsigned concurrency;
	double timeout; /* seconds a transaction may take, retransmissions
	                   included */
	pid_t pids[BENCH_MAX_PIDS];
	size_t pid_count;
	const char *names[BENCH_MAX_NAMES];
	size_t name_count;
	bool allow_remote;
	bool quiet;
};

/* Long-term credentials, computed once (REST ones from the secret). */
struct bench_credentials {
	char username[STUN_USERNAME_MAX + 1];
	char password[STUN_USERNAME_MAX + 1];
};

/* What every client of a run shares, made once by main() from the
 * options: the credentials, the transport and, over TLS, the client
 * context (OpenSSL lets threads share an SSL_CTX once it is set up). */
struct bench_access {
	struct bench_credentials credentials;
	enum bench_transport transport;
	SSL_CTX *tls;     /* owned by main(); NULL but over TLS */
	size_t frame_max; /* BENCH_FRAME_MAX(payload) */
};

/* "udp", "tcp" or "tls". */
const char *bench_transport_name(enum bench_transport transport);

/* hist.c: a log-linear histogram of nanoseconds, within 1.6 %. */
#define HIST_SUB_BITS 6
#define HIST_SUB      (1u << HIST_SUB_BITS)
#define HIST_BUCKETS  ((64 - HIST_SUB_BITS + 1) * HIST_SUB)
struct hist {
	uint64_t counts[HIST_BUCKETS];
	uint64_t total;
	uint64_t max;
};
void hist_add(struct hist *h, uint64_t value);
void hist_merge(struct hist *into, const struct hist *from);
/* The value under which a fraction q (0..1) of the samples lie; 0 when
 * empty. */
uint64_t hist_quantile(const struct hist *h, double q);

struct stream;

/* client.c: one TURN client on its own connected UDP socket, or on its own
 * TCP or TLS connection (stream.c). */
struct bench_client {
	int fd; /* the socket; owned by stream when there is one */
	struct stream *stream;             /* owned; NULL over UDP */
	const struct bench_access *access; /* borrowed */
	double timeout;
	uint64_t rng;
	char realm[STUN_REALM_MAX_BYTES + 1];
	char nonce[STUN_NONCE_MAX_BYTES + 1];
	uint8_t key[STUN_KEY_MAX];
	size_t key_len;
	struct sockaddr_storage relayed;
	uint16_t stun_error; /* of the last error response, or 0 */
	char error[BENCH_ERROR_SIZE];
};

/* Opens the socket, bound to local (NULL: any address) and connected to
 * server; over TCP and TLS the connection is made (and the handshake done)
 * within the timeout. Returns 0, or an errno value with c->error:
 * ECONNREFUSED, ETIMEDOUT, EPROTO (the TLS handshake failed). */
int client_open(struct bench_client *c, const struct sockaddr *server,
                const struct sockaddr *local, const struct bench_access *access,
                double timeout);
/* Allocate (RFC 8656 §7) with long-term authentication: an
 * unauthenticated request, the 401's REALM and NONCE, then the signed
 * request (and again on 438). family is the peer's (AF_INET/AF_INET6).
 * Returns 0; ETIMEDOUT (no answer within the timeout), ECONNREFUSED,
 * EACCES (401 with credentials: wrong ones), EPROTO (another error
 * response, in c->stun_error), EBADMSG (an answer that makes no sense). */
int client_allocate(struct bench_client *c, int family);
int client_permission(struct bench_client *c, const struct sockaddr *peer);
int client_channel_bind(struct bench_client *c, uint16_t channel,
                        const struct sockaddr *peer);
/* Refresh with this LIFETIME; 0 deletes the allocation (RFC 8656 §8). */
int client_refresh(struct bench_client *c, uint32_t lifetime);
void client_close(struct bench_client *c);

/* stream.c: TCP and TLS connections with RFC 8656 §12.5 framing. */
/* The TLS client context for the options (TLS 1.2 and later; the server's
 * certificate verified against options->ca_file when it is set, not at
 * all otherwise). Returns 0 and *out (owned: SSL_CTX_free()), or EINVAL
 * with the reason in error. */
int stream_tls_context(const struct bench_options *options, SSL_CTX **out,
                       char *error, size_t error_size);
/* client_open()'s part over TCP and TLS: sets c->stream and c->fd, or
 * c->error. Nonblocking from then on. */
int stream_open(struct bench_client *c, const struct sockaddr *server,
                const struct sockaddr *local);
/* Closes the connection (close_notify, not waited for) and frees it. */
void stream_close(struct stream *s);
/* Writes all of buf by the deadline (monotonic ns): 0, ETIMEDOUT, or
 * ECONNRESET/EPIPE/EPROTO when the connection failed. */
int stream_write_all(struct stream *s, const uint8_t *buf, size_t len,
                     uint64_t deadline);
/* The next whole frame (STUN message or ChannelData with its padding),
 * waiting for it until the deadline. *frame points into the stream's
 * buffer until the next call. Returns 0; ETIMEDOUT; ECONNRESET when the
 * server closed the connection; EBADMSG when the stream is not STUN
 * framing or a frame is longer than the stream's buffer. */
int stream_next_frame(struct stream *s, uint64_t deadline,
                      const uint8_t **frame, size_t *frame_len);
/* The sender's write: count frames of frame_len bytes each, back to back
 * in batch, without waiting. *taken frames were handed to the transport;
 * the rest were not (a full socket buffer, like a UDP send that the
 * kernel did not take). A frame half written stays queued in the stream
 * and goes first at the next call. Returns 0, EAGAIN when nothing could
 * be written, or an error of the connection. */
int stream_send(struct stream *s, const uint8_t *batch, size_t frame_len,
                unsigned count, unsigned *taken);
/* At the end of sending: writes what stream_send() left queued, waiting
 * for the socket until the deadline, and returns how many frames of it
 * still could not be written. */
unsigned stream_finish(struct stream *s, uint64_t deadline);
/* The receiver's read: delivers every whole frame that has arrived, in
 * order, without waiting. Returns 0 once the socket is drained (or after a
 * bounded number of reads), or ECONNRESET or EBADMSG (as
 * stream_next_frame()): read no more from it then. */
typedef void stream_frame_fn(void *arg, const uint8_t *frame, size_t len);
int stream_receive(struct stream *s, stream_frame_fn *deliver, void *arg);

/* alloc.c: setup and teardown of the flow mode's allocations, with
 * options->concurrency threads; the allocation-rate mode. */
int alloc_setup(const struct bench_options *options,
                const struct bench_access *access, const struct sockaddr *peer,
                struct bench_client *clients, char *error, size_t error_size);
/* Deletes the allocations (Refresh 0) and closes the sockets; failures
 * are counted, not fatal: the server lets allocations expire anyway. */
unsigned alloc_teardown(const struct bench_options *options,
                        struct bench_client *clients);

struct alloc_result {
	unsigned done;
	double seconds;
	struct hist latency;
};
int alloc_cycles(const struct bench_options *options,
                 const struct bench_access *access, const struct sockaddr *peer,
                 struct alloc_result *result, char *error, size_t error_size);

/* peer.c: the peer on loopback. As a sink, a socket filter drops every
 * datagram in the kernel and arrivals are read from the socket's drop
 * counter (SO_MEMINFO); where the kernel does not count filter drops a
 * thread drains the socket instead. As an echo, a thread sends every
 * datagram back to where it came from. */
struct peer {
	int fd;
	bool echo;
	bool filtered;
	struct sockaddr_storage addr;
	atomic_bool stop;
	bool running;
	uint32_t drops_last;
	uint64_t drops;
	_Atomic uint64_t received;
	pthread_t thread;
};
int peer_open(struct peer *p, const struct sockaddr *addr, bool echo,
              char *error, size_t error_size);
int peer_start(struct peer *p);
/* Datagrams that reached the peer so far. */
uint64_t peer_arrivals(struct peer *p);
void peer_close(struct peer *p);

/* traffic.c: the sender and (in echo mode) receiver threads. */
struct traffic {
	const struct bench_options *options; /* borrowed */
	struct bench_client *clients;        /* borrowed */
	struct sockaddr_storage peer;
	atomic_bool stop_receiver;
	uint64_t start_ns;
	/* Summed over the senders by traffic_wait_sender(). */
	uint64_t sent;
	uint64_t send_errors;
	uint64_t lag_max_ns; /* the furthest a paced sender fell behind */
	uint64_t end_ns;
	int send_error; /* the last errno */
	void *senders;  /* owned; traffic.c's */
	unsigned sender_count;
	/* Written by the receiver; read after it has been joined. */
	_Atomic uint64_t echoed;
	uint64_t malformed;
	struct hist rtt;
	pthread_t receiver;
	bool receiver_running;
	void *receiver_state; /* owned; traffic.c's */
};
int traffic_start(struct traffic *t);
/* Waits for the senders to finish their duration and sums their counts. */
void traffic_wait_sender(struct traffic *t);
/* Stops and joins the receiver; frees what traffic_start() made. */
void traffic_stop(struct traffic *t);
/* Echoes received so far (for the drain wait). */
uint64_t traffic_echoed(const struct traffic *t);

/* procstat.c: CPU time of the server's processes from /proc/PID/stat. */
struct procstat {
	pid_t pids[BENCH_MAX_PIDS];
	size_t count;
};
/* The given pids with their descendants, and every process whose comm is
 * one of names. Returns
 * ESRCH (with a message) when a pid does not exist or a name matches
 * nothing. */
int procstat_find(struct procstat *ps, const struct bench_options *options,
                  char *error, size_t error_size);
/* CPU time of all the processes (all threads): schedstat's run time in
 * ns where the kernel keeps it, else utime + stime in ticks. */
struct procstat_sample {
	double cpu_s;
	/* How many times the threads were scheduled in (with schedstat
	 * only): at low rates, one wakeup per batch of packets. */
	uint64_t runs;
	bool have_runs;
	unsigned gone; /* processes that exited since procstat_find() */
};
void procstat_cpu(const struct procstat *ps, struct procstat_sample *out);
/* Resident memory (VmRSS) and open descriptors, summed over the
 * processes. */
void procstat_memory(const struct procstat *ps, uint64_t *rss_kib,
                     uint64_t *fds);
/* CPU seconds the whole machine has been busy (user, nice, system, irq,
 * softirq) and stolen by a hypervisor, from /proc/stat: what the server
 * and the generator did not use of it was other load, i.e. noise. */
struct procstat_machine {
	double busy;
	double steal;
};
int procstat_machine(struct procstat_machine *m);

/* What one run measured. */
struct report {
	double seconds;
	uint64_t sent, send_errors, peer, echoed, malformed;
	uint64_t send_lag_max_ns; /* paced runs; 0 flat out */
	/* Of peer and echoed, those counted by the time the senders had
	 * stopped: the rest was queued in the server or, over TCP and TLS,
	 * in the connections. */
	uint64_t peer_by_end, echoed_by_end;
	int send_error;
	bool filter_counted;
	bool have_cpu;
	unsigned processes; /* of the server, measured */
	unsigned gone;
	double server_cpu, generator_cpu;
	/* Times the server's threads were scheduled in over the window;
	 * have_runs is false without schedstat. */
	uint64_t server_runs;
	bool have_runs;
	/* The machine's busy and stolen CPU seconds over the window, or
	 * negative when /proc/stat could not be read. */
	double machine_busy, machine_steal;
	/* Server memory and descriptors before and after the setup. */
	uint64_t rss_before, rss_after, fds_before, fds_after;
	const struct hist *latency;       /* borrowed */
	const struct alloc_result *alloc; /* borrowed; alloc mode only */
};

/* run.c: the two modes; they print the report. Return 0, or an errno
 * value after printing why. */
int run_flow(const struct bench_options *options,
             const struct bench_access *access, const struct procstat *ps,
             struct report *r);
/* limiter.c: the rate limiter's CPU cost per packet, in process. */
int run_limiter(const struct bench_options *options);
/* wakeup.c: the machine's CPU cost of waking a thread, in process. */
int run_wakeup(const struct bench_options *options);

int run_alloc(const struct bench_options *options,
              const struct bench_access *access, const struct procstat *ps,
              struct report *r);

/* report.c: a readable summary (unless quiet), then the RESULT line. */
void report_flow(const struct bench_options *options, const struct report *r);
void report_alloc(const struct bench_options *options, const struct report *r);

/* main.c */
uint64_t bench_now_ns(void);

#endif
