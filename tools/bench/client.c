/*
 * A TURN client over UDP, TCP or TLS (RFC 8656), just enough to set up
 * relaying: Allocate with long-term credentials (RFC 8489 §9.2),
 * CreatePermission, ChannelBind and Refresh. Over UDP each request is
 * retransmitted until an answer comes or the client's timeout has passed;
 * over a stream it is sent once (RFC 8489 §6.2.2) and waited for as long.
 * Either way a silent server is an error after a bounded wait, never a
 * hang.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "turnpike/net.h"
#include "bench.h"

#define REQUEST_SIZE  1500
#define RESPONSE_SIZE 4096
/* RFC 8489 §6.2.1 suggests an RTO of 500 ms for the Internet; on loopback
 * a lost request is a full queue, better retried soon. */
#define RTO_INITIAL_NS 100000000ull
#define RTO_MAX_NS     1600000000ull
/* 401 then the signed request, and one 438 on top. */
#define MAX_TRIES 4

struct request {
	uint16_t method;
	const struct sockaddr *peer; /* XOR-PEER-ADDRESS, or NULL */
	uint16_t channel;            /* CHANNEL-NUMBER, or 0 */
	bool has_lifetime;
	uint32_t lifetime;
	int family; /* Allocate: of the relayed address */
};

/* A response and the datagram it lives in. */
struct response {
	uint8_t buf[RESPONSE_SIZE];
	struct stun_msg msg;
};

static void make_tid(struct bench_client *c, uint8_t tid[STUN_TID_SIZE])
{
	unsigned i;

	/* xorshift64*: transaction ids must be unpredictable to an off-path
	 * attacker only in the wild; here they must just not repeat. */
	for (i = 0; i < STUN_TID_SIZE; i++) {
		c->rng ^= c->rng >> 12;
		c->rng ^= c->rng << 25;
		c->rng ^= c->rng >> 27;
		tid[i] = (uint8_t)((c->rng * 0x2545F4914F6CDD1Dull) >> 56);
	}
}

int client_open(struct bench_client *c, const struct sockaddr *server,
                const struct sockaddr *local, const struct bench_access *access,
                double timeout)
{
	memset(c, 0, sizeof(*c));
	c->access = access;
	c->timeout = timeout;
	if (getrandom(&c->rng, sizeof(c->rng), 0) != sizeof(c->rng) ||
	    c->rng == 0)
		c->rng = 0x9E3779B97F4A7C15ull ^ (uint64_t)bench_now_ns();
	if (access->transport != BENCH_TRANSPORT_UDP)
		return stream_open(c, server, local);
	c->fd = socket(server->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		int err = errno;

		snprintf(c->error, sizeof(c->error), "socket: %s",
		         strerror(err));
		return err;
	}
	if ((local != NULL && bind(c->fd, local, net_addr_len(local)) != 0) ||
	    connect(c->fd, server, net_addr_len(server)) != 0) {
		int err = errno;

		snprintf(c->error, sizeof(c->error), "%s: %s",
		         local != NULL ? "bind or connect" : "connect",
		         strerror(err));
		close(c->fd);
		c->fd = -1;
		return err;
	}
	return 0;
}

void client_close(struct bench_client *c)
{
	if (c->stream != NULL)
		stream_close(c->stream);
	else if (c->fd >= 0)
		close(c->fd);
	c->stream = NULL;
	c->fd = -1;
	/* The key is worth nothing outside a benchmark, but still a key. */
	memset(c->key, 0, sizeof(c->key));
}

static int build(struct bench_client *c, const struct request *req,
                 const uint8_t *tid, bool sign, uint8_t *buf, size_t *len)
{
	const struct bench_credentials *cred = &c->access->credentials;
	struct stun_writer w;

	stun_writer_init(&w, buf, REQUEST_SIZE, req->method, STUN_CLASS_REQUEST,
	                 tid);
	if (req->method == STUN_METHOD_ALLOCATE) {
		stun_put_transport(&w, STUN_TRANSPORT_UDP);
		/* RFC 8656 §7.1: IPv4 unless asked. */
		if (req->family == AF_INET6)
			stun_put_family(&w, STUN_ATTR_REQUESTED_ADDRESS_FAMILY,
			                STUN_ADDRESS_FAMILY_IPV6);
	}
	if (req->channel != 0)
		stun_put_channel(&w, req->channel);
	if (req->peer != NULL)
		stun_put_xor_address(&w, STUN_ATTR_XOR_PEER_ADDRESS, req->peer);
	if (req->has_lifetime)
		stun_put_u32(&w, STUN_ATTR_LIFETIME, req->lifetime);
	if (sign) {
		stun_put_string(&w, STUN_ATTR_USERNAME, cred->username);
		stun_put_string(&w, STUN_ATTR_REALM, c->realm);
		stun_put_string(&w, STUN_ATTR_NONCE, c->nonce);
		stun_put_integrity(&w, c->key, c->key_len);
	}
	stun_put_fingerprint(&w);
	return stun_writer_finish(&w, len);
}

/* Waits until fd is readable or until deadline (monotonic ns). */
static int wait_readable(int fd, uint64_t deadline)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	uint64_t now = bench_now_ns();
	struct timespec ts;

	if (now >= deadline)
		return 0;
	ts.tv_sec = (time_t)((deadline - now) / 1000000000ull);
	ts.tv_nsec = (long)((deadline - now) % 1000000000ull);
	return ppoll(&pfd, 1, &ts, NULL);
}

/* 0 when the n bytes in r->buf are the response to tid (decoded into
 * r->msg); EAGAIN when they are something else (a late answer, relayed
 * data). */
static int match(const uint8_t *tid, struct response *r, size_t n)
{
	if (stun_msg_decode(&r->msg, r->buf, n) != 0 ||
	    memcmp(r->msg.transaction_id, tid, STUN_TID_SIZE) != 0)
		return EAGAIN;
	if (r->msg.class != STUN_CLASS_SUCCESS &&
	    r->msg.class != STUN_CLASS_ERROR)
		return EAGAIN;
	return 0;
}

/* Reads one datagram; 0 and the decoded response to tid, EAGAIN when it was
 * something else, or a socket error. */
static int receive(struct bench_client *c, const uint8_t *tid,
                   struct response *r)
{
	ssize_t n;

	n = recv(c->fd, r->buf, sizeof(r->buf), MSG_DONTWAIT);
	if (n < 0)
		return errno == EINTR ? EAGAIN : errno;
	return match(tid, r, (size_t)n);
}

/* Over a stream: the request once, then frames until the one that answers
 * it. */
static int exchange_stream(struct bench_client *c, const uint8_t *buf,
                           size_t len, const uint8_t *tid, struct response *r)
{
	uint64_t deadline = bench_now_ns() + (uint64_t)(c->timeout * 1e9);
	const uint8_t *frame;
	size_t frame_len;
	int err;

	err = stream_write_all(c->stream, buf, len, deadline);
	while (err == 0) {
		err =
		    stream_next_frame(c->stream, deadline, &frame, &frame_len);
		if (err != 0 || frame_len > sizeof(r->buf))
			continue;
		memcpy(r->buf, frame, frame_len);
		if (match(tid, r, frame_len) == 0)
			return 0;
	}
	if (err == ETIMEDOUT)
		snprintf(c->error, sizeof(c->error), "no answer in %.1f s",
		         c->timeout);
	else if (err == ECONNRESET || err == EPIPE)
		snprintf(c->error, sizeof(c->error),
		         "the server closed the connection");
	else if (err == EBADMSG)
		snprintf(c->error, sizeof(c->error),
		         "the server's stream is not STUN framing");
	return err;
}

/* Sends a request and waits for its response, retransmitting with a
 * doubling RTO (RFC 8489 §6.2.1) until c->timeout has passed. */
static int exchange(struct bench_client *c, const uint8_t *buf, size_t len,
                    const uint8_t *tid, struct response *r)
{
	uint64_t start = bench_now_ns(), rto = RTO_INITIAL_NS, next = start;
	uint64_t deadline = start + (uint64_t)(c->timeout * 1e9);
	unsigned sent = 0;
	int err;

	if (c->stream != NULL)
		return exchange_stream(c, buf, len, tid, r);
	for (;;) {
		uint64_t now = bench_now_ns();

		if (now >= deadline)
			break;
		if (now >= next) {
			if (send(c->fd, buf, len, 0) < 0 && errno != EAGAIN &&
			    errno != ENOBUFS)
				return errno;
			sent++;
			next = now + rto;
			rto = rto * 2 > RTO_MAX_NS ? RTO_MAX_NS : rto * 2;
		}
		if (wait_readable(c->fd, next < deadline ? next : deadline) <=
		    0)
			continue;
		err = receive(c, tid, r);
		if (err != EAGAIN)
			return err;
	}
	snprintf(c->error, sizeof(c->error),
	         "no answer in %.1f s (%u transmissions)", c->timeout, sent);
	return ETIMEDOUT;
}

/* Takes REALM and NONCE from a 401 or 438 and derives the key. */
static int take_challenge(struct bench_client *c, const struct stun_msg *msg)
{
	const struct bench_credentials *cred = &c->access->credentials;
	const struct stun_attr *realm, *nonce;
	bool same_realm;

	realm = stun_msg_find(msg, STUN_ATTR_REALM);
	nonce = stun_msg_find(msg, STUN_ATTR_NONCE);
	if (realm == NULL || nonce == NULL ||
	    memchr(stun_attr_value(msg, realm), 0, realm->length) != NULL ||
	    memchr(stun_attr_value(msg, nonce), 0, nonce->length) != NULL) {
		snprintf(c->error, sizeof(c->error),
		         "a %s without a usable REALM and NONCE",
		         c->key_len > 0 ? "438" : "401");
		return EBADMSG;
	}
	same_realm =
	    c->key_len > 0 && strlen(c->realm) == realm->length &&
	    memcmp(c->realm, stun_attr_value(msg, realm), realm->length) == 0;
	memcpy(c->realm, stun_attr_value(msg, realm), realm->length);
	c->realm[realm->length] = '\0';
	memcpy(c->nonce, stun_attr_value(msg, nonce), nonce->length);
	c->nonce[nonce->length] = '\0';
	if (same_realm)
		return 0;
	/* No PASSWORD-ALGORITHM in our requests: RFC 8489 §9.2.4 has the
	 * server take MD5, the key every TURN server knows. */
	if (stun_long_term_key(STUN_PASSWORD_ALGORITHM_MD5, cred->username,
	                       strlen(cred->username), c->realm,
	                       strlen(c->realm), cred->password,
	                       strlen(cred->password), c->key,
	                       &c->key_len) != 0) {
		snprintf(c->error, sizeof(c->error),
		         "cannot compute the MD5 long-term key (FIPS mode?)");
		return ENOTSUP;
	}
	return 0;
}

/* An error response: what it means for us, with a message. */
static int error_response(struct bench_client *c, const struct stun_msg *msg,
                          bool signed_request)
{
	const struct stun_attr *attr = stun_msg_find(msg, STUN_ATTR_ERROR_CODE);
	const char *reason = "";
	size_t reason_len = 0;
	uint16_t code = 0;

	if (attr == NULL || stun_attr_read_error(msg, attr, NULL, &code,
	                                         &reason, &reason_len) != 0) {
		snprintf(c->error, sizeof(c->error),
		         "an error response without a valid ERROR-CODE");
		return EBADMSG;
	}
	c->stun_error = code;
	snprintf(c->error, sizeof(c->error), "error %u (%.*s)", code,
	         (int)(reason_len > 120 ? 120 : reason_len), reason);
	if (code == 401 && signed_request) {
		snprintf(c->error, sizeof(c->error),
		         "error 401 (%.*s): wrong user name or password",
		         (int)(reason_len > 120 ? 120 : reason_len), reason);
		return EACCES;
	}
	return EPROTO;
}

/* A success response signed by the server must be signed with our key. */
static int check_success(struct bench_client *c, const struct stun_msg *msg)
{
	if (msg->integrity_index < 0 || c->key_len == 0)
		return 0;
	if (stun_msg_check_integrity(msg, c->key, c->key_len) != 0) {
		snprintf(c->error, sizeof(c->error),
		         "the response's MESSAGE-INTEGRITY does not match");
		return EBADMSG;
	}
	return 0;
}

/* One request until it succeeds: unsigned while we have no nonce, signed
 * after a 401, and signed again with the fresh nonce of a 438. */
static int transact(struct bench_client *c, const struct request *req,
                    struct response *r)
{
	uint8_t buf[REQUEST_SIZE], tid[STUN_TID_SIZE];
	size_t len;
	bool sign;
	int tries, err;

	c->stun_error = 0;
	for (tries = 0; tries < MAX_TRIES; tries++) {
		sign = c->key_len > 0;
		make_tid(c, tid);
		if (build(c, req, tid, sign, buf, &len) != 0) {
			snprintf(c->error, sizeof(c->error),
			         "the request does not fit %d bytes",
			         REQUEST_SIZE);
			return ENOBUFS;
		}
		err = exchange(c, buf, len, tid, r);
		if (err != 0)
			return err;
		if (r->msg.method != req->method) {
			snprintf(c->error, sizeof(c->error),
			         "answered with a %s response",
			         stun_method_name(r->msg.method));
			return EBADMSG;
		}
		if (r->msg.class == STUN_CLASS_SUCCESS)
			return check_success(c, &r->msg);
		err = error_response(c, &r->msg, sign);
		if (err != EPROTO)
			return err;
		/* RFC 8489 §9.2.5: 401 to an unsigned request and 438 Stale
		 * Nonce both carry what the next attempt needs. */
		if (!((c->stun_error == 401 && !sign) || c->stun_error == 438))
			return err;
		err = take_challenge(c, &r->msg);
		if (err != 0)
			return err;
	}
	return EPROTO;
}

/* transact() with the method's name in front of any error message. */
static int run(struct bench_client *c, const struct request *req,
               struct response *r)
{
	char detail[BENCH_ERROR_SIZE];
	int err;

	c->error[0] = '\0';
	err = transact(c, req, r);
	if (err == 0)
		return 0;
	if (err == ECONNREFUSED)
		snprintf(c->error, sizeof(c->error),
		         "connection refused: nothing listens on that port");
	else if (c->error[0] == '\0')
		snprintf(c->error, sizeof(c->error), "%s", strerror(err));
	snprintf(detail, sizeof(detail), "%s", c->error);
	snprintf(c->error, sizeof(c->error), "%.32s: %.200s",
	         stun_method_name(req->method), detail);
	return err;
}

int client_allocate(struct bench_client *c, int family)
{
	struct request req = {.method = STUN_METHOD_ALLOCATE, .family = family};
	const struct stun_attr *relayed;
	struct response r;
	int err;

	err = run(c, &req, &r);
	if (err != 0)
		return err;
	relayed = stun_msg_find(&r.msg, STUN_ATTR_XOR_RELAYED_ADDRESS);
	if (relayed == NULL ||
	    stun_attr_read_xor_address(&r.msg, relayed, &c->relayed) != 0) {
		snprintf(c->error, sizeof(c->error),
		         "Allocate: success without a valid "
		         "XOR-RELAYED-ADDRESS");
		return EBADMSG;
	}
	return 0;
}

int client_permission(struct bench_client *c, const struct sockaddr *peer)
{
	struct request req = {.method = STUN_METHOD_CREATE_PERMISSION,
	                      .peer = peer};
	struct response r;

	return run(c, &req, &r);
}

int client_channel_bind(struct bench_client *c, uint16_t channel,
                        const struct sockaddr *peer)
{
	struct request req = {.method = STUN_METHOD_CHANNEL_BIND,
	                      .peer = peer,
	                      .channel = channel};
	struct response r;

	return run(c, &req, &r);
}

int client_refresh(struct bench_client *c, uint32_t lifetime)
{
	struct request req = {.method = STUN_METHOD_REFRESH,
	                      .has_lifetime = true,
	                      .lifetime = lifetime};
	struct response r;

	return run(c, &req, &r);
}
