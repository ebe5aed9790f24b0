/*
 * libFuzzer target for the turn module's decisions: an Allocate request's
 * TURN attributes (turn_allocate_parse), the peer policy on every
 * XOR-PEER-ADDRESS, and then one allocation's permissions and channels
 * driven by the rest of the input as a sequence of operations
 * (turn_permission_install, turn_channel_bind, lookups, time passing and
 * turn_state_expire), with the RFC 8656 rules checked after each:
 *
 *   input = u16 length, a STUN message of that length, operations...
 *   operation = opcode byte, then its operands:
 *     0 install:  peer (19 bytes)
 *     1 bind:     channel number (2 bytes), peer (19 bytes)
 *     2 advance:  seconds / 4 (1 byte), then turn_state_expire()
 *     3 look up:  channel number (2 bytes), peer (19 bytes)
 *   peer = flags (bit 0: IPv6, bit 1: IPv4-mapped IPv6), 16 address
 *   bytes (the first 4 for IPv4), port (2 bytes)
 *
 * Any out-of-bounds access is caught by AddressSanitizer; a broken rule
 * aborts.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "turnpike/conf.h"
#include "turnpike/stun.h"
#include "turnpike/turn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PEER_BYTES 19

struct input {
	const uint8_t *data;
	size_t size;
};

static bool take(struct input *in, void *out, size_t n)
{
	if (in->size < n)
		return false;
	memcpy(out, in->data, n);
	in->data += n;
	in->size -= n;
	return true;
}

static bool take_peer(struct input *in, struct sockaddr_storage *peer)
{
	uint8_t raw[PEER_BYTES];

	if (!take(in, raw, sizeof(raw)))
		return false;
	memset(peer, 0, sizeof(*peer));
	if (raw[0] & 3) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)peer;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, raw + 1, 16);
		if (raw[0] & 2) { /* ::ffff:a.b.c.d */
			memset(&sin6->sin6_addr, 0, 10);
			memset((uint8_t *)&sin6->sin6_addr + 10, 0xff, 2);
		}
		memcpy(&sin6->sin6_port, raw + 17, 2);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)peer;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, raw + 1, 4);
		memcpy(&sin->sin_port, raw + 17, 2);
	}
	return true;
}

/* The tables stay within their bounds and hold only what is live or
 * cooling down. */
static void check_tables(const struct turn_state *s)
{
	if (s->permission_count > TURN_MAX_PERMISSIONS ||
	    s->channel_count > TURN_MAX_CHANNELS)
		abort();
	for (uint16_t i = 0; i < s->channel_count; i++)
		if (s->channels[i].number < 0x4000 ||
		    s->channels[i].number > s->channel_max)
			abort();
}

static void bind_channel(struct turn_state *s, uint16_t number,
                         const struct sockaddr *peer, uint64_t now)
{
	const struct turn_channel *by_number, *by_peer;

	if (turn_channel_bind(s, number, peer, now) != 0)
		return;
	/* RFC 8656 §12.2: bound both ways, and a permission for its IP. */
	by_number = turn_channel_by_number(s, number, now);
	by_peer = turn_channel_by_peer(s, peer, now);
	if (by_number == NULL || by_number != by_peer ||
	    !turn_permission_allows(s, peer, now))
		abort();
}

static void run_operations(struct input *in, struct turn_state *s,
                           uint64_t *now)
{
	struct sockaddr_storage peer;
	uint16_t number;
	uint8_t op, step;

	while (take(in, &op, 1)) {
		switch (op % 4) {
		case 0:
			if (!take_peer(in, &peer))
				return;
			if (turn_permission_install(s, (struct sockaddr *)&peer,
			                            *now) == 0 &&
			    !turn_permission_allows(s, (struct sockaddr *)&peer,
			                            *now))
				abort();
			break;
		case 1:
			if (!take(in, &number, 2) || !take_peer(in, &peer))
				return;
			bind_channel(s, ntohs(number), (struct sockaddr *)&peer,
			             *now);
			break;
		case 2:
			if (!take(in, &step, 1))
				return;
			*now += (uint64_t)step * 4;
			if (turn_state_expire(s, *now) != 0 &&
			    turn_state_expire(s, *now) <= *now)
				abort(); /* the next change lies ahead */
			break;
		default:
			if (!take(in, &number, 2) || !take_peer(in, &peer))
				return;
			(void)turn_channel_by_number(s, ntohs(number), *now);
			(void)turn_channel_by_peer(s, (struct sockaddr *)&peer,
			                           *now);
			(void)turn_permission_allows(
			    s, (struct sockaddr *)&peer, *now);
			break;
		}
		check_tables(s);
	}
}

static struct conf conf;
static struct turn_peer_policy policy;

static void setup(void)
{
	static bool done;
	struct sockaddr_in *v4 = (struct sockaddr_in *)&conf.relay_v4;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&conf.relay_v6;

	if (done)
		return;
	done = true;
	v4->sin_family = AF_INET;
	inet_pton(AF_INET, "203.0.113.5", &v4->sin_addr);
	v6->sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::5", &v6->sin6_addr);
	conf.has_relay_v4 = conf.has_relay_v6 = true;
	conf.default_lifetime = 600;
	conf.max_lifetime = 3600;
	turn_peer_policy_init(&policy, &conf);
}

static void fuzz_request(const uint8_t *msg_bytes, size_t len)
{
	struct turn_allocate_request parsed;
	struct sockaddr_storage peer;
	struct stun_msg msg;

	if (stun_msg_decode(&msg, msg_bytes, len) != 0)
		return;
	if (turn_allocate_parse(&conf, &msg, &parsed) == 0 &&
	    !parsed.want_ipv4 && !parsed.want_ipv6)
		abort(); /* a success allocates something */
	(void)turn_lifetime_grant(&conf, parsed.has_lifetime, parsed.lifetime);
	for (uint16_t i = 0; i < msg.attr_count; i++)
		if (msg.attrs[i].type == STUN_ATTR_XOR_PEER_ADDRESS &&
		    stun_attr_read_xor_address(&msg, &msg.attrs[i], &peer) == 0)
			(void)turn_peer_allowed(&policy,
			                        (struct sockaddr *)&peer);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size};
	struct turn_state state;
	uint64_t now = 1800000000;
	uint16_t len;
	uint8_t *msg;

	setup();
	if (!take(&in, &len, 2))
		return 0;
	len = ntohs(len);
	if (len > in.size)
		len = (uint16_t)in.size;
	/* Exactly the message's bytes, so that ASan sees a read past them. */
	msg = malloc(len > 0 ? len : 1);
	if (msg == NULL)
		return 0;
	memcpy(msg, in.data, len);
	in.data += len;
	in.size -= len;
	fuzz_request(msg, len);
	free(msg);
	turn_state_init(&state, now, 600);
	state.channel_max =
	    in.size > 0 && (in.data[0] & 0x80) ? 0x7FFF : 0x4FFF;
	run_operations(&in, &state, &now);
	return 0;
}
