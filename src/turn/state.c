/*
 * The protocol state of one allocation: its expiry, its permissions and its
 * channel bindings (RFC 8656 §9, §12), and the lifetime to grant
 * (§7.2, §7.3). Fixed-size tables, no allocation, no I/O: every lookup
 * takes the time and treats what has expired as absent, so the answers are
 * right even before turn_state_expire() has tidied up.
 */
#include "config.h"

#include <netinet/in.h>
#include <string.h>

#include "turnpike/turn.h"

/* A peer transport address reduced to what identifies it: the IP (with
 * IPv4-mapped IPv6 unmapped) and the port. */
struct turn_peer_key {
	struct turn_peer_ip ip;
	uint16_t port;
};

void turn_state_init(struct turn_state *state, uint64_t now, uint32_t lifetime)
{
	memset(state, 0, sizeof(*state));
	state->expires = now + lifetime;
	state->channel_max = STUN_CHANNEL_MAX;
}

void turn_peer_ip_from(struct turn_peer_ip *ip, const struct sockaddr *addr)
{
	const struct sockaddr_in *v4 = (const struct sockaddr_in *)addr;
	const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)addr;

	/* Zeroed first so that keys compare with memcmp. */
	memset(ip, 0, sizeof(*ip));
	if (addr->sa_family == AF_INET) {
		ip->family = AF_INET;
		memcpy(ip->bytes, &v4->sin_addr, 4);
	} else if (addr->sa_family == AF_INET6 &&
	           IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
		/* A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d;
		 * they are the same peer as a.b.c.d. */
		ip->family = AF_INET;
		memcpy(ip->bytes, v6->sin6_addr.s6_addr + 12, 4);
	} else if (addr->sa_family == AF_INET6) {
		ip->family = AF_INET6;
		memcpy(ip->bytes, &v6->sin6_addr, 16);
	}
}

static bool turn_peer_ip_equal(const struct turn_peer_ip *a,
                               const struct turn_peer_ip *b)
{
	return a->family == b->family &&
	       memcmp(a->bytes, b->bytes, sizeof(a->bytes)) == 0;
}

static void turn_peer_key_from(struct turn_peer_key *key,
                               const struct sockaddr *addr)
{
	turn_peer_ip_from(&key->ip, addr);
	if (addr->sa_family == AF_INET)
		key->port = ((const struct sockaddr_in *)addr)->sin_port;
	else if (addr->sa_family == AF_INET6)
		key->port = ((const struct sockaddr_in6 *)addr)->sin6_port;
	else
		key->port = 0;
}

static bool turn_peer_key_equal(const struct turn_peer_key *a,
                                const struct turn_peer_key *b)
{
	return a->port == b->port && turn_peer_ip_equal(&a->ip, &b->ip);
}

/* --- Permissions (RFC 8656 §9, §10.2) --- */

static struct turn_permission *
turn_permission_find(struct turn_state *state, const struct turn_peer_ip *ip)
{
	uint16_t i;

	for (i = 0; i < state->permission_count; i++)
		if (turn_peer_ip_equal(&state->permissions[i].ip, ip))
			return &state->permissions[i];
	return NULL;
}

/* A slot for a new permission: an expired one not yet removed, or the next
 * free one. NULL when the table is full of live permissions. */
static struct turn_permission *turn_permission_slot(struct turn_state *state,
                                                    uint64_t now)
{
	uint16_t i;

	for (i = 0; i < state->permission_count; i++)
		if (state->permissions[i].expires <= now)
			return &state->permissions[i];
	if (state->permission_count == TURN_MAX_PERMISSIONS)
		return NULL;
	return &state->permissions[state->permission_count++];
}

int turn_permission_install(struct turn_state *state,
                            const struct sockaddr *peer, uint64_t now)
{
	struct turn_permission *permission;
	struct turn_peer_ip ip;

	/* RFC 8656 §9: a permission is keyed by the peer's IP only; the
	 * port plays no part. */
	turn_peer_ip_from(&ip, peer);
	permission = turn_permission_find(state, &ip);
	if (permission == NULL)
		permission = turn_permission_slot(state, now);
	/* RFC 8656 §10.2: a valid request the server lacks the capacity
	 * for gets 508 Insufficient Capacity. */
	if (permission == NULL)
		return 508;
	permission->ip = ip;
	/* RFC 8656 §9: installing again refreshes it for 300 s more. */
	permission->expires = now + TURN_PERMISSION_LIFETIME;
	return 0;
}

bool turn_permission_allows(const struct turn_state *state,
                            const struct sockaddr *peer, uint64_t now)
{
	struct turn_peer_ip ip;
	uint16_t i;

	turn_peer_ip_from(&ip, peer);
	for (i = 0; i < state->permission_count; i++) {
		const struct turn_permission *p = &state->permissions[i];

		if (p->expires > now && turn_peer_ip_equal(&p->ip, &ip))
			return true;
	}
	return false;
}

/* --- Channels (RFC 8656 §12) --- */

/* Until when a channel entry holds its number and its peer: a live binding
 * for its lifetime and then its cooldown, a cooling one until it ends. */
static uint64_t turn_channel_held_until(const struct turn_channel *channel)
{
	if (channel->bound)
		return channel->expires + TURN_CHANNEL_COOLDOWN;
	return channel->expires;
}

static bool turn_channel_live(const struct turn_channel *channel, uint64_t now)
{
	return channel->bound && channel->expires > now;
}

static struct turn_channel *turn_channel_held_number(struct turn_state *state,
                                                     uint16_t number,
                                                     uint64_t now)
{
	uint16_t i;

	for (i = 0; i < state->channel_count; i++) {
		struct turn_channel *c = &state->channels[i];

		if (c->number == number && turn_channel_held_until(c) > now)
			return c;
	}
	return NULL;
}

static struct turn_channel *
turn_channel_held_peer(struct turn_state *state,
                       const struct turn_peer_key *key, uint64_t now)
{
	struct turn_peer_key other;
	uint16_t i;

	for (i = 0; i < state->channel_count; i++) {
		struct turn_channel *c = &state->channels[i];

		if (turn_channel_held_until(c) <= now)
			continue;
		turn_peer_key_from(&other, (const struct sockaddr *)&c->peer);
		if (turn_peer_key_equal(&other, key))
			return c;
	}
	return NULL;
}

/* A slot for a new binding: an entry whose hold has ended, or the one just
 * past the table (taken by turn_channel_bind() only once it succeeds).
 * NULL when every entry is bound or cooling down. */
static struct turn_channel *turn_channel_slot(struct turn_state *state,
                                              uint64_t now)
{
	uint16_t i;

	for (i = 0; i < state->channel_count; i++)
		if (turn_channel_held_until(&state->channels[i]) <= now)
			return &state->channels[i];
	if (state->channel_count == TURN_MAX_CHANNELS)
		return NULL;
	return &state->channels[state->channel_count];
}

static socklen_t turn_sockaddr_len(const struct sockaddr *addr)
{
	if (addr->sa_family == AF_INET6)
		return sizeof(struct sockaddr_in6);
	return sizeof(struct sockaddr_in);
}

/*
 * Which entry a ChannelBind of (number, peer) uses, or the error code.
 * RFC 8656 §12.2: the number must lie in 0x4000-0x4FFF, must not be bound
 * to another peer, and the peer must not be bound to another number. §12:
 * for 5 minutes after a binding expires, neither may be bound to anything
 * else; the same pair may be bound again at any time.
 */
static int turn_channel_choose(struct turn_state *state, uint16_t number,
                               const struct sockaddr *peer, uint64_t now,
                               struct turn_channel **out)
{
	struct turn_channel *by_number, *by_peer;
	struct turn_peer_key key;

	if (number < STUN_CHANNEL_MIN || number > state->channel_max)
		return 400;
	turn_peer_key_from(&key, peer);
	by_number = turn_channel_held_number(state, number, now);
	by_peer = turn_channel_held_peer(state, &key, now);
	if (by_number != by_peer)
		return 400;
	*out = by_number != NULL ? by_number : turn_channel_slot(state, now);
	/* RFC 8656 §12.2: no room for another binding is 508. */
	return *out != NULL ? 0 : 508;
}

int turn_channel_bind(struct turn_state *state, uint16_t number,
                      const struct sockaddr *peer, uint64_t now)
{
	struct turn_channel *channel = NULL;
	int rc;

	rc = turn_channel_choose(state, number, peer, now, &channel);
	if (rc != 0)
		return rc;
	/* RFC 8656 §12.2: binding installs or refreshes the permission for
	 * the peer's IP; when that fails, nothing is bound. */
	rc = turn_permission_install(state, peer, now);
	if (rc != 0)
		return rc;
	if (channel == &state->channels[state->channel_count])
		state->channel_count++;
	memset(&channel->peer, 0, sizeof(channel->peer));
	memcpy(&channel->peer, peer, turn_sockaddr_len(peer));
	channel->number = number;
	channel->bound = true;
	/* RFC 8656 §12: a binding lasts 10 minutes from its last refresh. */
	channel->expires = now + TURN_CHANNEL_LIFETIME;
	return 0;
}

const struct turn_channel *turn_channel_by_number(const struct turn_state *s,
                                                  uint16_t number, uint64_t now)
{
	uint16_t i;

	for (i = 0; i < s->channel_count; i++) {
		const struct turn_channel *c = &s->channels[i];

		if (c->number == number && turn_channel_live(c, now))
			return c;
	}
	return NULL;
}

const struct turn_channel *turn_channel_by_peer(const struct turn_state *s,
                                                const struct sockaddr *peer,
                                                uint64_t now)
{
	struct turn_peer_key key, other;
	uint16_t i;

	turn_peer_key_from(&key, peer);
	for (i = 0; i < s->channel_count; i++) {
		const struct turn_channel *c = &s->channels[i];

		if (!turn_channel_live(c, now))
			continue;
		turn_peer_key_from(&other, (const struct sockaddr *)&c->peer);
		if (turn_peer_key_equal(&other, &key))
			return c;
	}
	return NULL;
}

/* --- Expiry --- */

static uint64_t turn_min(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Drops expired permissions, keeping the table dense. Returns the earliest
 * expiry left (UINT64_MAX when none). */
static uint64_t turn_permissions_expire(struct turn_state *state, uint64_t now)
{
	uint64_t next = UINT64_MAX;
	uint16_t i, kept = 0;

	for (i = 0; i < state->permission_count; i++) {
		if (state->permissions[i].expires <= now)
			continue;
		next = turn_min(next, state->permissions[i].expires);
		state->permissions[kept++] = state->permissions[i];
	}
	state->permission_count = kept;
	return next;
}

/* Moves expired bindings into their cooldown (RFC 8656 §12) and drops
 * finished cooldowns, keeping the table dense. Returns the earliest change
 * left (UINT64_MAX when none). */
static uint64_t turn_channels_expire(struct turn_state *state, uint64_t now)
{
	uint64_t next = UINT64_MAX;
	uint16_t i, kept = 0;

	for (i = 0; i < state->channel_count; i++) {
		struct turn_channel *c = &state->channels[i];

		if (c->bound && c->expires <= now) {
			c->bound = false;
			c->expires += TURN_CHANNEL_COOLDOWN;
		}
		if (c->expires <= now)
			continue;
		next = turn_min(next, c->expires);
		state->channels[kept++] = *c;
	}
	state->channel_count = kept;
	return next;
}

uint64_t turn_state_expire(struct turn_state *state, uint64_t now)
{
	uint64_t next;

	next = turn_permissions_expire(state, now);
	next = turn_min(next, turn_channels_expire(state, now));
	if (state->expires <= now)
		return 0;
	return turn_min(next, state->expires);
}

/* --- Lifetimes (RFC 8656 §7.2, §7.3) --- */

uint32_t turn_lifetime_grant(const struct conf *conf, bool has_requested,
                             uint32_t requested)
{
	uint32_t granted = conf->default_lifetime;

	/* RFC 8656 §7.2 (as RFC 5766 §6.2 words it): the requested lifetime
	 * capped at the server's maximum, but never less than the default.
	 * Refresh with 0 (delete) is the caller's, before asking here. */
	if (has_requested)
		granted = requested < conf->max_lifetime ? requested
		                                         : conf->max_lifetime;
	if (granted < conf->default_lifetime)
		granted = conf->default_lifetime;
	/* The maximum is a ceiling even over the default, should a
	 * configuration set the default higher. */
	if (granted > conf->max_lifetime)
		granted = conf->max_lifetime;
	return granted;
}
