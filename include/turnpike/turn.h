/*
 * turn: the decisions of a TURN server (RFC 8656), without I/O.
 *
 * Given decoded requests, an allocation's state and the time, these
 * functions say what to answer and what to change. The worker owns the
 * sockets and does the sending; everything here is tested with a fake
 * clock. Times are seconds of CLOCK_MONOTONIC unless said otherwise.
 *
 * Functions that judge a request return 0 or the STUN error code to answer
 * with (400, 403, 437, 440, 442, 508...).
 */
#ifndef TURNPIKE_TURN_H
#define TURNPIKE_TURN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "turnpike/conf.h"
#include "turnpike/stun.h"

/* RFC 8656 §9: permissions last 300 s; §12: channel bindings 600 s. */
#define TURN_PERMISSION_LIFETIME 300
#define TURN_CHANNEL_LIFETIME    600
/* RFC 8656 §12: after a binding expires, neither its number nor its peer
 * may be rebound to something else for 5 minutes. */
#define TURN_CHANNEL_COOLDOWN 300
/* Bounds that keep an idle allocation within a few KiB. Past them the
 * request gets 508 Insufficient Capacity (RFC 8656 §10.2, §12.2). */
#define TURN_MAX_PERMISSIONS 32
#define TURN_MAX_CHANNELS    16

/* A peer IP address, the key of a permission (port ignored, §9). */
struct turn_peer_ip {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t bytes[16];
};

struct turn_permission {
	struct turn_peer_ip ip;
	uint64_t expires;
};

struct turn_channel {
	uint16_t number;
	bool bound; /* false: expired, in its cooldown until `expires` */
	struct sockaddr_storage peer;
	uint64_t expires;
};

/* The protocol state of one allocation. */
struct turn_state {
	uint64_t expires;
	/* The highest channel number ChannelBind accepts: 0x4FFF (RFC 8656
	 * §12), or 0x7FFF for RFC 5766 clients (channel-numbers = rfc5766). */
	uint16_t channel_max;
	uint16_t permission_count;
	uint16_t channel_count;
	struct turn_permission permissions[TURN_MAX_PERMISSIONS];
	struct turn_channel channels[TURN_MAX_CHANNELS];
};

void turn_state_init(struct turn_state *state, uint64_t now, uint32_t lifetime);

/* Copies a socket address's IP into a permission key (IPv4-mapped IPv6
 * addresses become IPv4). */
void turn_peer_ip_from(struct turn_peer_ip *ip, const struct sockaddr *addr);

/*
 * RFC 8656 §9, §10.2: installs or refreshes (for another 300 s) a
 * permission for the peer's IP; the port is ignored. Returns 0, or 508 when
 * the allocation has TURN_MAX_PERMISSIONS live permissions already (an
 * expired one not yet removed gives up its place).
 */
int turn_permission_install(struct turn_state *state,
                            const struct sockaddr *peer, uint64_t now);
/* True when a live permission covers the peer's IP. Hot path: no
 * allocation, bounded scan. */
bool turn_permission_allows(const struct turn_state *state,
                            const struct sockaddr *peer, uint64_t now);

/*
 * RFC 8656 §12.2: binds (or refreshes, for 600 s) channel number to peer
 * and installs or refreshes the permission for the peer's IP. Returns 0;
 * 400 when the number is outside 0x4000-channel_max, bound (or cooling down) to
 * another peer, or the peer is bound (or cooling down) to another number;
 * 508 when the channel table is full, or when the permission cannot be
 * installed (then nothing is bound). The same pair may be bound again
 * during its cooldown. Peers compare by IP and port, IPv4-mapped IPv6 as
 * IPv4; the channel keeps the address as given.
 */
int turn_channel_bind(struct turn_state *state, uint16_t number,
                      const struct sockaddr *peer, uint64_t now);
/* Live binding of a channel number, or NULL (an expired one is NULL even
 * before turn_state_expire() runs). */
const struct turn_channel *turn_channel_by_number(const struct turn_state *s,
                                                  uint16_t number,
                                                  uint64_t now);
/* Live binding of a peer transport address (IP and port, IPv4-mapped
 * IPv6 as IPv4), or NULL. */
const struct turn_channel *turn_channel_by_peer(const struct turn_state *s,
                                                const struct sockaddr *peer,
                                                uint64_t now);

/*
 * Removes expired permissions, moves expired channel bindings into their
 * cooldown (bound = false, expires = old expiry + 300) and removes finished
 * cooldowns, keeping both tables dense. Returns the next time anything in
 * the state changes: the earliest of the allocation's expiry and those of
 * its permissions, channels and cooldowns. Returns 0 when the allocation
 * itself has expired (expires <= now).
 */
uint64_t turn_state_expire(struct turn_state *state, uint64_t now);

/*
 * RFC 8656 §7.2 and §7.3: the lifetime to grant, in seconds. `requested`
 * is the LIFETIME attribute (present = has_requested). With it:
 * min(requested, max-lifetime), raised to default-lifetime if below it;
 * without it: default-lifetime. The result never exceeds max-lifetime.
 * A Refresh with LIFETIME 0 deletes the allocation: the caller handles it
 * before asking here (this never returns 0 unless the configuration has
 * a lifetime of 0).
 */
uint32_t turn_lifetime_grant(const struct conf *conf, bool has_requested,
                             uint32_t requested);

/* What an Allocate request asks for, checked (RFC 8656 §7.2). */
struct turn_allocate_request {
	bool want_ipv4, want_ipv6; /* relayed address families */
	bool even_port, reserve_next;
	bool has_reservation_token;
	uint64_t reservation_token; /* the 8 bytes, big-endian */
	bool dont_fragment;
	bool has_lifetime;
	uint32_t lifetime;
	/* ADDRESS-ERROR-CODE to add when a dual-stack request can only be
	 * served in one family (RFC 8656 §7.2, 440 for the other);
	 * missing_family is STUN_ADDRESS_FAMILY_IPV4 or _IPV6. */
	bool partial_family;
	uint8_t missing_family;
};

/*
 * Parses and checks an Allocate request's TURN attributes against the
 * configuration: REQUESTED-TRANSPORT missing 400 or not UDP 442;
 * REQUESTED-ADDRESS-FAMILY with ADDITIONAL-ADDRESS-FAMILY 400; a family
 * value other than IPv4/IPv6 440; ADDITIONAL-ADDRESS-FAMILY other than
 * IPv6 400; a requested family with no relay address configured 440
 * (for a dual-stack request with only one family configured, success with
 * partial_family set); RESERVATION-TOKEN with EVEN-PORT or with
 * REQUESTED-ADDRESS-FAMILY 400; any of these attributes malformed 400.
 * Without a family attribute the relayed family is IPv4 (440 when no IPv4
 * relay address is configured). *out is zeroed first; on success it says
 * what to allocate. 437, reservation-token validity (508), ports (508) and
 * quotas (486) are the caller's.
 */
int turn_allocate_parse(const struct conf *conf, const struct stun_msg *msg,
                        struct turn_allocate_request *out);

/*
 * The peer policy (DESIGN.md section 3): by default, relaying towards
 * loopback, unspecified, link-local, RFC 1918, CGNAT, unique-local,
 * multicast, broadcast, 169.254.169.254 and the server's own addresses is
 * refused; deny-peer ranges are always refused; allow-peer ranges are
 * allowed unless denied. IPv4-mapped IPv6 addresses are judged as IPv4.
 */
struct turn_peer_policy {
	const struct conf *conf; /* allow-peer, deny-peer, relay/external */
	/* The server's own addresses (listeners, relay, external). */
	struct turn_peer_ip own[32];
	size_t own_count;
};
void turn_peer_policy_init(struct turn_peer_policy *policy,
                           const struct conf *conf);
/* True when the peer may be relayed to. */
bool turn_peer_allowed(const struct turn_peer_policy *policy,
                       const struct sockaddr *peer);

/*
 * A timing wheel of one-second slots for the expiry of allocations (one
 * node per allocation, scheduled at turn_state_expire()'s answer). Nodes
 * are intrusive and start zeroed (not scheduled); scheduling and cancelling
 * are O(1); a deadline beyond the wheel's span waits in its slot for the
 * right lap. turn_wheel_expired() visits at most TURN_WHEEL_SLOTS slots per
 * call and looks at each node of a slot once per visit (src/turn/wheel.c).
 */
#define TURN_WHEEL_SLOTS 1024

struct turn_wheel_node {
	struct turn_wheel_node *next, *prev;
	uint64_t deadline;
};

struct turn_wheel {
	struct turn_wheel_node slots[TURN_WHEEL_SLOTS]; /* list heads */
	/* The time whose slot is being scanned; earlier times have been run
	 * (after a gap of a lap or more, the lap up to the clock runs them). */
	uint64_t now;
	size_t count;
	/* The scan of the slot of `now`: the next node to look at (the
	 * slot's head when done), and the earliest deadline of the nodes
	 * before it, none of which was due. Private to wheel.c. */
	struct turn_wheel_node *cursor;
	uint64_t cursor_min;
};

void turn_wheel_init(struct turn_wheel *wheel, uint64_t now);
/* (Re)schedules node at deadline (moved if already scheduled). */
void turn_wheel_schedule(struct turn_wheel *wheel, struct turn_wheel_node *node,
                         uint64_t deadline);
/* Takes node off the wheel; a node not on it is left alone. */
void turn_wheel_cancel(struct turn_wheel *wheel, struct turn_wheel_node *node);
static inline bool turn_wheel_scheduled(const struct turn_wheel_node *node)
{
	return node->next != NULL;
}
/*
 * Removes and returns one node whose deadline is <= now, or NULL when
 * none is due. Call it until NULL after the clock moves; a returned node
 * is off the wheel and may be rescheduled at once.
 */
struct turn_wheel_node *turn_wheel_expired(struct turn_wheel *wheel,
                                           uint64_t now);

#endif
