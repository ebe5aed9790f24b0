/*
 * The byte layouts of the allocations table: a fixed-size key for the
 * 5-tuple and a packed record holding only the peers and channels in use.
 * Every field has a fixed width and byte order, so that two encodings of
 * one tuple are the same key and a record never carries struct padding,
 * sockaddr padding or unused array slots.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "store_private.h"

#define FAMILY_NONE 0
#define FAMILY_IPV4 4
#define FAMILY_IPV6 6

struct writer {
	uint8_t *buf;
	size_t size, len;
	bool overflow;
};

/* Reads past the end set bad and yield zeros, so decoders check once at
 * the end; every read is still bounded. */
struct reader {
	const uint8_t *buf;
	size_t size, pos;
	bool bad;
};

static void put_bytes(struct writer *w, const void *src, size_t n)
{
	if (w->overflow || w->size - w->len < n) {
		w->overflow = true;
		return;
	}
	memcpy(w->buf + w->len, src, n);
	w->len += n;
}

static void put_uint(struct writer *w, uint64_t value, size_t n)
{
	uint8_t be[8];

	for (size_t i = 0; i < n; i++)
		be[i] = (uint8_t)(value >> (8 * (n - 1 - i)));
	put_bytes(w, be, n);
}

static void get_bytes(struct reader *r, void *dst, size_t n)
{
	if (r->bad || r->size - r->pos < n) {
		r->bad = true;
		memset(dst, 0, n);
		return;
	}
	memcpy(dst, r->buf + r->pos, n);
	r->pos += n;
}

static uint64_t get_uint(struct reader *r, size_t n)
{
	uint8_t be[8];
	uint64_t value = 0;

	get_bytes(r, be, n);
	for (size_t i = 0; i < n; i++)
		value = value << 8 | be[i];
	return value;
}

/* IPv4-mapped IPv6 is written as IPv4: one client reached over a
 * dual-stack socket must not count as two 5-tuples. */
static int put_addr(struct writer *w, const struct sockaddr_storage *ss,
                    bool optional)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	uint8_t ip[16] = {0};

	if (ss->ss_family == AF_UNSPEC && optional) {
		put_uint(w, FAMILY_NONE, 1);
		put_bytes(w, ip, 16);
		put_uint(w, 0, 2);
	} else if (ss->ss_family == AF_INET) {
		memcpy(ip, &sin->sin_addr, 4);
		put_uint(w, FAMILY_IPV4, 1);
		put_bytes(w, ip, 16);
		put_bytes(w, &sin->sin_port, 2);
	} else if (ss->ss_family == AF_INET6) {
		bool mapped = IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr);

		if (mapped)
			memcpy(ip, &sin6->sin6_addr.s6_addr[12], 4);
		else
			memcpy(ip, &sin6->sin6_addr, 16);
		put_uint(w, mapped ? FAMILY_IPV4 : FAMILY_IPV6, 1);
		put_bytes(w, ip, 16);
		put_bytes(w, &sin6->sin6_port, 2);
	} else {
		return EINVAL;
	}
	return 0;
}

static void get_addr(struct reader *r, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	uint8_t family = (uint8_t)get_uint(r, 1), ip[16];

	memset(ss, 0, sizeof(*ss));
	get_bytes(r, ip, sizeof(ip));
	if (family == FAMILY_IPV4) {
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, ip, 4);
		get_bytes(r, &sin->sin_port, 2);
	} else if (family == FAMILY_IPV6) {
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, ip, 16);
		get_bytes(r, &sin6->sin6_port, 2);
	} else {
		get_bytes(r, ip, 2); /* a relayed slot left empty */
		if (family != FAMILY_NONE)
			r->bad = true;
	}
}

int store_tuple_encode(const struct store_five_tuple *tuple,
                       uint8_t key[STORE_TUPLE_KEY_SIZE])
{
	struct writer w = {.buf = key, .size = STORE_TUPLE_KEY_SIZE};

	put_uint(&w, tuple->transport, 1);
	if (put_addr(&w, &tuple->client, false) != 0 ||
	    put_addr(&w, &tuple->listener, false) != 0)
		return EINVAL;
	return w.overflow ? EINVAL : 0;
}

int store_tuple_decode(const uint8_t *key, size_t len,
                       struct store_five_tuple *tuple)
{
	struct reader r = {.buf = key, .size = len};

	memset(tuple, 0, sizeof(*tuple));
	tuple->transport = (uint8_t)get_uint(&r, 1);
	get_addr(&r, &tuple->client);
	get_addr(&r, &tuple->listener);
	if (r.bad || r.pos != len || tuple->client.ss_family == AF_UNSPEC ||
	    tuple->listener.ss_family == AF_UNSPEC)
		return EIO;
	return 0;
}

/* A string field: its length, then its bytes without the NUL. */
static int put_string(struct writer *w, const char *s, size_t size,
                      size_t width)
{
	size_t len = strnlen(s, size);

	if (len == size)
		return EINVAL;
	put_uint(w, len, width);
	put_bytes(w, s, len);
	return 0;
}

static void get_string(struct reader *r, char *s, size_t size, size_t width)
{
	size_t len = (size_t)get_uint(r, width);

	if (len >= size) {
		r->bad = true;
		len = 0;
	}
	get_bytes(r, s, len);
	s[len] = '\0';
}

static int put_peer(struct writer *w, const struct store_peer *peer)
{
	if (peer->family == AF_INET)
		put_uint(w, FAMILY_IPV4, 1);
	else if (peer->family == AF_INET6)
		put_uint(w, FAMILY_IPV6, 1);
	else
		return EINVAL;
	put_bytes(w, peer->addr, sizeof(peer->addr));
	put_uint(w, peer->expires, 8);
	return 0;
}

static void get_peer(struct reader *r, struct store_peer *peer)
{
	uint8_t family = (uint8_t)get_uint(r, 1);

	if (family == FAMILY_IPV4)
		peer->family = AF_INET;
	else if (family == FAMILY_IPV6)
		peer->family = AF_INET6;
	else
		r->bad = true;
	get_bytes(r, peer->addr, sizeof(peer->addr));
	peer->expires = get_uint(r, 8);
}

static int put_lists(struct writer *w, const struct store_allocation *a)
{
	if (a->peer_count > STORE_MAX_PEERS ||
	    a->channel_count > STORE_MAX_CHANNELS)
		return EINVAL;
	put_uint(w, a->peer_count, 2);
	put_uint(w, a->channel_count, 2);
	for (size_t i = 0; i < a->peer_count; i++)
		if (put_peer(w, &a->peers[i]) != 0)
			return EINVAL;
	for (size_t i = 0; i < a->channel_count; i++) {
		put_uint(w, a->channels[i].number, 2);
		if (put_addr(w, &a->channels[i].peer, false) != 0)
			return EINVAL;
		put_uint(w, a->channels[i].expires, 8);
	}
	return 0;
}

static void get_lists(struct reader *r, struct store_allocation *a)
{
	a->peer_count = (uint16_t)get_uint(r, 2);
	a->channel_count = (uint16_t)get_uint(r, 2);
	if (a->peer_count > STORE_MAX_PEERS ||
	    a->channel_count > STORE_MAX_CHANNELS) {
		r->bad = true;
		return;
	}
	for (size_t i = 0; i < a->peer_count; i++)
		get_peer(r, &a->peers[i]);
	for (size_t i = 0; i < a->channel_count; i++) {
		a->channels[i].number = (uint16_t)get_uint(r, 2);
		get_addr(r, &a->channels[i].peer);
		if (a->channels[i].peer.ss_family == AF_UNSPEC)
			r->bad = true;
		a->channels[i].expires = get_uint(r, 8);
	}
}

int store_record_encode(const struct store_allocation *a,
                        uint8_t buf[STORE_RECORD_MAX], size_t *len)
{
	struct writer w = {.buf = buf, .size = STORE_RECORD_MAX};

	/* The worker comes first, where a purge can find it. */
	put_uint(&w, a->worker, 4);
	put_uint(&w, (uint32_t)a->pid, 4);
	put_uint(&w, a->created, 8);
	put_uint(&w, a->expires, 8);
	if (put_addr(&w, &a->relayed[0], true) != 0 ||
	    put_addr(&w, &a->relayed[1], true) != 0 ||
	    put_string(&w, a->username, sizeof(a->username), 2) != 0 ||
	    !store_key_valid(a->quota_key, sizeof(a->quota_key)) ||
	    put_string(&w, a->quota_key, sizeof(a->quota_key), 1) != 0 ||
	    put_lists(&w, a) != 0 || w.overflow)
		return EINVAL;
	*len = w.len;
	return 0;
}

int store_record_decode(const uint8_t *buf, size_t len,
                        struct store_allocation *a)
{
	struct reader r = {.buf = buf, .size = len};

	memset(a, 0, sizeof(*a));
	a->worker = (uint32_t)get_uint(&r, 4);
	a->pid = (pid_t)get_uint(&r, 4);
	a->created = get_uint(&r, 8);
	a->expires = get_uint(&r, 8);
	get_addr(&r, &a->relayed[0]);
	get_addr(&r, &a->relayed[1]);
	get_string(&r, a->username, sizeof(a->username), 2);
	get_string(&r, a->quota_key, sizeof(a->quota_key), 1);
	get_lists(&r, a);
	return r.bad || r.pos != len ? EIO : 0;
}
