/*
 * TURN over TCP and TLS for the generator (RFC 8656 §3.1): one connection
 * per client, carrying STUN messages and ChannelData back to back. On a
 * stream ChannelData is padded to a multiple of 4 bytes (§12.5); STUN
 * messages always are. Frames are cut from what arrives with the codec's
 * stun_frame_next(), however the bytes were split into reads. Connections
 * are nonblocking: making one and the TLS handshake wait in poll() until
 * the client's timeout, and the traffic threads never wait in a read or a
 * write.
 *
 * Threads. Over TCP, a sender thread writes and the receiver thread (echo
 * mode) reads the same socket, which the kernel allows; each touches only
 * its own buffer here (pending; rx). An SSL object, however, must not be
 * used by two threads at once: SSL_read() may write (an alert, the answer
 * to a TLS 1.3 KeyUpdate) and both change the connection's state. So a
 * mutex per connection serialises SSL_write() and SSL_read(). Both are
 * nonblocking, so the mutex is held only for the encryption or decryption
 * and the copy of what is ready, never while waiting for the socket; each
 * side takes it once per batch (a write of up to BENCH_SEND_BATCH frames,
 * a read of up to the buffer's size), a few uncontended lock operations
 * per batch. The other designs cost more: one thread per connection doing
 * both would tie the send schedule to the echoes, and kernel TLS depends
 * on the kernel and on how OpenSSL was built.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "turnpike/net.h"
#include "bench.h"

/* The receive buffer: room for any setup response, and two of the largest
 * frames a run relays. */
#define RX_MIN 8192
/* The send buffer of each connection. Left to the kernel's tuning it grows
 * to 4 MiB (tcp_wmem), and flat out the senders would queue about a
 * second of the server's work that it relays after the run. This keeps a
 * few milliseconds' worth queued, which is enough to keep the server fed,
 * as a client with a real-time stream would. */
#define SEND_BUFFER (256 * 1024)
/* Reads per stream_receive() call, so that one busy connection does not
 * keep the receiver from the others. */
#define RECEIVE_READS 16

struct stream {
	int fd;
	SSL *ssl; /* NULL over TCP */
	pthread_mutex_t lock;
	/* TLS, under lock: what the last call waits for (POLLIN or
	 * POLLOUT), and whether decrypted bytes are left in OpenSSL. */
	short tls_wants;
	bool tls_buffered;
	/* Received, not yet taken as frames: rx[rx_start, rx_end). */
	uint8_t *rx;
	size_t rx_size, rx_start, rx_end;
	/* Taken by stream_send(), not yet written: pending[off, len). */
	uint8_t *pending;
	size_t pending_size, pending_off, pending_len;
	size_t frame_len; /* of the last stream_send() */
};

static const char *tls_reason(void)
{
	static const char none[] = "no reason given";
	unsigned long code = ERR_peek_last_error();
	const char *reason;

	reason = code != 0 ? ERR_reason_error_string(code) : NULL;
	return reason != NULL ? reason : none;
}

int stream_tls_context(const struct bench_options *o, SSL_CTX **out,
                       char *error, size_t error_size)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL) {
		snprintf(error, error_size, "TLS: %s", tls_reason());
		return ENOMEM;
	}
	/* RFC 8996: nothing older than TLS 1.2. */
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* The sender writes what the socket takes and keeps the rest; after
	 * SSL_ERROR_WANT_WRITE it offers the same bytes again, from its
	 * pending buffer rather than from the batch (SSL_write(3)). */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	                          SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (o->ca_file == NULL) {
		/* A benchmark's server has a test certificate. */
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		*out = ctx;
		return 0;
	}
	/* OpenSSL names a missing file "system lib": say it first. */
	if (access(o->ca_file, R_OK) != 0)
		snprintf(error, error_size, "--ca %s: %s", o->ca_file,
		         strerror(errno));
	else if (SSL_CTX_load_verify_locations(ctx, o->ca_file, NULL) != 1)
		snprintf(error, error_size, "--ca %s: %s", o->ca_file,
		         tls_reason());
	else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		*out = ctx;
		return 0;
	}
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return EINVAL;
}

/* An SSL call's failure as an errno value; EAGAIN with tls_wants set
 * when it waits for the socket. Under lock. */
static int tls_error(struct stream *s, int ret)
{
	switch (SSL_get_error(s->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		s->tls_wants = POLLIN;
		return EAGAIN;
	case SSL_ERROR_WANT_WRITE:
		s->tls_wants = POLLOUT;
		return EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return ECONNRESET;
	case SSL_ERROR_SYSCALL:
		return errno != 0 && errno != EAGAIN ? errno : ECONNRESET;
	default:
		return EPROTO;
	}
}

/* One write without waiting: 0 and *done bytes, EAGAIN, or the
 * connection's error. */
static int io_write(struct stream *s, const uint8_t *buf, size_t len,
                    size_t *done)
{
	ssize_t n;
	int ret, err = 0;

	*done = 0;
	if (s->ssl == NULL) {
		n = send(s->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0)
			return errno == EWOULDBLOCK || errno == EINTR ? EAGAIN
			                                              : errno;
		*done = (size_t)n;
		return 0;
	}
	pthread_mutex_lock(&s->lock);
	ERR_clear_error();
	errno = 0;
	ret = SSL_write(s->ssl, buf, (int)len);
	if (ret > 0)
		*done = (size_t)ret;
	else
		err = tls_error(s, ret);
	pthread_mutex_unlock(&s->lock);
	return err;
}

/* One read into rx without waiting: 0, EAGAIN, ECONNRESET when the server
 * closed, or another error of the connection. */
static int fill(struct stream *s)
{
	size_t room;
	ssize_t n;
	int ret, err = 0;

	/* What is left is at most part of one frame: move it to the front. */
	if (s->rx_start > 0) {
		memmove(s->rx, s->rx + s->rx_start, s->rx_end - s->rx_start);
		s->rx_end -= s->rx_start;
		s->rx_start = 0;
	}
	room = s->rx_size - s->rx_end;
	if (s->ssl == NULL) {
		n = recv(s->fd, s->rx + s->rx_end, room, MSG_DONTWAIT);
		if (n < 0)
			return errno == EWOULDBLOCK || errno == EINTR ? EAGAIN
			                                              : errno;
		if (n == 0)
			return ECONNRESET;
		s->rx_end += (size_t)n;
		return 0;
	}
	pthread_mutex_lock(&s->lock);
	ERR_clear_error();
	errno = 0;
	ret = SSL_read(s->ssl, s->rx + s->rx_end, (int)room);
	if (ret > 0)
		s->rx_end += (size_t)ret;
	else
		err = tls_error(s, ret);
	s->tls_buffered = SSL_pending(s->ssl) > 0;
	pthread_mutex_unlock(&s->lock);
	return err;
}

/* The next whole frame in rx: 0, EAGAIN (more bytes needed) or EBADMSG. */
static int take_frame(struct stream *s, const uint8_t **frame, size_t *len)
{
	size_t frame_len;
	int err;

	err = stun_frame_next(s->rx + s->rx_start, s->rx_end - s->rx_start,
	                      s->rx_size, &frame_len);
	if (err == EAGAIN)
		return EAGAIN;
	if (err != 0)
		return EBADMSG;
	*frame = s->rx + s->rx_start;
	*len = frame_len;
	s->rx_start += frame_len;
	return 0;
}

/* Waits until the socket is ready for events or the deadline has passed:
 * 0 or ETIMEDOUT. An error or hang-up counts as ready, for the next call
 * to report. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	uint64_t now;
	struct timespec ts;
	int n;

	do {
		now = bench_now_ns();
		if (now >= deadline)
			return ETIMEDOUT;
		ts.tv_sec = (time_t)((deadline - now) / 1000000000ull);
		ts.tv_nsec = (long)((deadline - now) % 1000000000ull);
		n = ppoll(&pfd, 1, &ts, NULL);
	} while (n == 0 || (n < 0 && errno == EINTR));
	return n < 0 ? errno : 0;
}

/* What the last call that returned EAGAIN waits for: over TLS a read may
 * wait for the socket to be writable, and a write for it to be
 * readable. */
static short waits_for(const struct stream *s, short natural)
{
	return s->ssl != NULL ? s->tls_wants : natural;
}

/* Writes what an earlier stream_send() left: 0 when nothing is left. */
static int flush(struct stream *s);

int stream_write_all(struct stream *s, const uint8_t *buf, size_t len,
                     uint64_t deadline)
{
	size_t done;
	int err;

	/* A frame the sender left half written goes first, or the request
	 * would land in the middle of it. */
	while ((err = flush(s)) == EAGAIN)
		if (wait_fd(s->fd, POLLOUT, deadline) != 0)
			return ETIMEDOUT;
	if (err != 0)
		return err;
	while (len > 0) {
		err = io_write(s, buf, len, &done);
		if (err == EAGAIN)
			err = wait_fd(s->fd, waits_for(s, POLLOUT), deadline);
		if (err != 0)
			return err;
		buf += done;
		len -= done;
	}
	return 0;
}

int stream_next_frame(struct stream *s, uint64_t deadline,
                      const uint8_t **frame, size_t *frame_len)
{
	int err;

	for (;;) {
		err = take_frame(s, frame, frame_len);
		if (err != EAGAIN)
			return err;
		err = fill(s);
		if (err == EAGAIN)
			err = wait_fd(s->fd, waits_for(s, POLLIN), deadline);
		if (err != 0)
			return err;
	}
}

int stream_receive(struct stream *s, stream_frame_fn *deliver, void *arg)
{
	const uint8_t *frame;
	unsigned reads = 0;
	size_t len;
	int err;

	for (;;) {
		while ((err = take_frame(s, &frame, &len)) == 0)
			deliver(arg, frame, len);
		if (err != EAGAIN)
			return err;
		/* Bytes OpenSSL has decrypted but not handed over make no
		 * poll() event: they are read now or never. */
		if (reads++ >= RECEIVE_READS && !s->tls_buffered)
			return 0;
		err = fill(s);
		if (err != 0)
			return err == EAGAIN ? 0 : err;
	}
}

static int flush(struct stream *s)
{
	size_t done;
	int err;

	while (s->pending_off < s->pending_len) {
		err = io_write(s, s->pending + s->pending_off,
		               s->pending_len - s->pending_off, &done);
		if (err != 0)
			return err;
		s->pending_off += done;
	}
	s->pending_off = s->pending_len = 0;
	return 0;
}

static void keep(struct stream *s, const uint8_t *bytes, size_t len)
{
	memcpy(s->pending, bytes, len);
	s->pending_off = 0;
	s->pending_len = len;
}

int stream_send(struct stream *s, const uint8_t *batch, size_t frame_len,
                unsigned count, unsigned *taken)
{
	size_t len = frame_len * count, done = 0;
	int err;

	*taken = 0;
	/* What may have to be kept must fit (stream_open() sized it). */
	if (frame_len > s->pending_size ||
	    (s->ssl != NULL && len > s->pending_size))
		return EMSGSIZE;
	s->frame_len = frame_len;
	err = flush(s);
	if (err == 0)
		err = io_write(s, batch, len, &done);
	if (err == EAGAIN && s->ssl != NULL && s->pending_len == 0) {
		/* SSL_write() may have sent records of it already, and must
		 * be called again with the same bytes: they are taken. */
		keep(s, batch, len);
		*taken = count;
		return 0;
	}
	if (err != 0)
		return err;
	/* A frame cut short must be finished before anything else goes;
	 * the frames after it were not taken. */
	*taken = (unsigned)((done + frame_len - 1) / frame_len);
	if (done % frame_len != 0)
		keep(s, batch + done, frame_len - done % frame_len);
	return 0;
}

unsigned stream_finish(struct stream *s, uint64_t deadline)
{
	int err;

	/* POLLOUT even when TLS waits for a read: tls_wants is the
	 * receiver's too, and the deadline bounds the wait anyway. */
	while ((err = flush(s)) == EAGAIN)
		if (wait_fd(s->fd, POLLOUT, deadline) != 0)
			break;
	if (err == 0 || s->frame_len == 0)
		return 0;
	/* A frame partly written counts as not sent. */
	return (unsigned)((s->pending_len - s->pending_off + s->frame_len - 1) /
	                  s->frame_len);
}

/* connect()'s failure in words. */
static int connect_failed(struct bench_client *c, int err)
{
	if (err == ECONNREFUSED)
		snprintf(c->error, sizeof(c->error),
		         "connect: connection refused: nothing listens on that "
		         "port");
	else
		snprintf(c->error, sizeof(c->error), "connect: %s",
		         strerror(err));
	return err;
}

static int tcp_connect(struct bench_client *c, struct stream *s,
                       const struct sockaddr *server,
                       const struct sockaddr *local, uint64_t deadline)
{
	socklen_t len = sizeof(int);
	int one = 1, err = 0, size = SEND_BUFFER;

	s->fd = socket(server->sa_family,
	               SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (s->fd < 0) {
		err = errno;
		snprintf(c->error, sizeof(c->error), "socket: %s",
		         strerror(err));
		return err;
	}
	/* Each batch leaves when written, as a datagram would. */
	(void)setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	(void)setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (local != NULL) {
		/* The port is chosen at connect(), per destination. */
		(void)setsockopt(s->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT,
		                 &one, sizeof(one));
		if (bind(s->fd, local, net_addr_len(local)) != 0) {
			err = errno;
			snprintf(c->error, sizeof(c->error), "bind: %s",
			         strerror(err));
			return err;
		}
	}
	if (connect(s->fd, server, net_addr_len(server)) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return connect_failed(c, errno);
	if (wait_fd(s->fd, POLLOUT, deadline) != 0) {
		snprintf(c->error, sizeof(c->error),
		         "connect: no answer in %.1f s", c->timeout);
		return ETIMEDOUT;
	}
	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	return err != 0 ? connect_failed(c, err) : 0;
}

/* Why the handshake failed, in c->error. */
static int handshake_failed(struct bench_client *c, struct stream *s, int err)
{
	long verify = SSL_get_verify_result(s->ssl);

	if (err == ETIMEDOUT)
		snprintf(c->error, sizeof(c->error),
		         "TLS handshake: no answer in %.1f s", c->timeout);
	else if (verify != X509_V_OK)
		snprintf(c->error, sizeof(c->error),
		         "TLS handshake: the server's certificate: %s",
		         X509_verify_cert_error_string(verify));
	else if (err == EPROTO)
		snprintf(c->error, sizeof(c->error), "TLS handshake: %s",
		         tls_reason());
	else
		snprintf(c->error, sizeof(c->error),
		         "TLS handshake: %s (is it a TLS port?)",
		         err == ECONNRESET ? "the server closed the connection"
		                           : strerror(err));
	ERR_clear_error();
	return err == ETIMEDOUT ? err : EPROTO;
}

/* With --ca, the certificate must name the address we asked for (no SNI:
 * RFC 6066 §3 allows no address literals in it). */
static int expect_address(SSL *ssl, const struct sockaddr *server)
{
	X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
	const struct sockaddr_in *in = (const struct sockaddr_in *)server;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)server;

	if (server->sa_family == AF_INET)
		return X509_VERIFY_PARAM_set1_ip(
		    param, (const unsigned char *)&in->sin_addr, 4);
	return X509_VERIFY_PARAM_set1_ip(
	    param, (const unsigned char *)&in6->sin6_addr, 16);
}

static int tls_connect(struct bench_client *c, struct stream *s,
                       const struct sockaddr *server, uint64_t deadline)
{
	int ret, err;

	s->ssl = SSL_new(c->access->tls);
	if (s->ssl == NULL || SSL_set_fd(s->ssl, s->fd) != 1) {
		snprintf(c->error, sizeof(c->error), "TLS: %s", tls_reason());
		return ENOMEM;
	}
	if (expect_address(s->ssl, server) != 1) {
		snprintf(c->error, sizeof(c->error), "TLS: %s", tls_reason());
		return EINVAL;
	}
	for (;;) {
		ERR_clear_error();
		errno = 0;
		ret = SSL_connect(s->ssl);
		if (ret == 1)
			return 0;
		err = tls_error(s, ret);
		if (err == EAGAIN)
			err = wait_fd(s->fd, s->tls_wants, deadline);
		if (err != 0)
			return handshake_failed(c, s, err);
	}
}

int stream_open(struct bench_client *c, const struct sockaddr *server,
                const struct sockaddr *local)
{
	uint64_t deadline = bench_now_ns() + (uint64_t)(c->timeout * 1e9);
	size_t frame_max = c->access->frame_max;
	struct stream *s;
	int err;

	c->fd = -1;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		goto nomem;
	s->fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	s->rx_size = RX_MIN + 2 * frame_max;
	/* Over TCP what is kept is the rest of one frame; over TLS, after
	 * SSL_ERROR_WANT_WRITE, a whole batch. */
	s->pending_size =
	    c->access->tls != NULL ? BENCH_SEND_BATCH * frame_max : frame_max;
	s->rx = malloc(s->rx_size);
	s->pending = malloc(s->pending_size);
	if (s->rx == NULL || s->pending == NULL)
		goto nomem;
	err = tcp_connect(c, s, server, local, deadline);
	if (err == 0 && c->access->tls != NULL)
		err = tls_connect(c, s, server, deadline);
	if (err != 0) {
		stream_close(s);
		return err;
	}
	c->stream = s;
	c->fd = s->fd;
	return 0;
nomem:
	stream_close(s);
	snprintf(c->error, sizeof(c->error), "out of memory");
	return ENOMEM;
}

void stream_close(struct stream *s)
{
	if (s == NULL)
		return;
	if (s->ssl != NULL) {
		/* close_notify, not waited for: the server deletes the
		 * allocation when the connection goes either way. */
		if (SSL_is_init_finished(s->ssl))
			(void)SSL_shutdown(s->ssl);
		SSL_free(s->ssl);
		ERR_clear_error();
	}
	if (s->fd >= 0)
		close(s->fd);
	pthread_mutex_destroy(&s->lock);
	free(s->rx);
	free(s->pending);
	free(s);
}
