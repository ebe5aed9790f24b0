/*
 * The peer policy (DESIGN.md section 3): which peers a client may relay to.
 * A relay that forwards anywhere lets any user reach the operator's private
 * network, its loopback services and the cloud metadata endpoint, so the
 * default refuses every range that is not global unicast, and the server's
 * own addresses; deny-peer and allow-peer change that.
 */
#include "config.h"

#include <netinet/in.h>
#include <string.h>

#include "turnpike/turn.h"

#define V4(a, b, c, d, len)                                                    \
	{                                                                      \
		.family = AF_INET, .addr = {a, b, c, d}, .prefix_len = len     \
	}
#define V6(len, ...)                                                           \
	{                                                                      \
		.family = AF_INET6, .addr = {__VA_ARGS__}, .prefix_len = len   \
	}

/* Refused unless allow-peer lists them. IPv4-mapped IPv6 (::ffff:0:0/96)
 * is not here: such peers are unmapped and judged as IPv4. */
static const struct conf_cidr turn_denied_default[] = {
    V4(0, 0, 0, 0, 8),      /* RFC 1122: "this network" */
    V4(10, 0, 0, 0, 8),     /* RFC 1918 */
    V4(100, 64, 0, 0, 10),  /* RFC 6598: CGNAT shared space */
    V4(127, 0, 0, 0, 8),    /* RFC 1122: loopback */
    V4(169, 254, 0, 0, 16), /* RFC 3927: link-local, 169.254.169.254 */
    V4(172, 16, 0, 0, 12),  /* RFC 1918 */
    V4(192, 0, 0, 0, 24),   /* RFC 6890: IETF protocol assignments */
    V4(192, 168, 0, 0, 16), /* RFC 1918 */
    V4(198, 18, 0, 0, 15),  /* RFC 2544: benchmarking */
    V4(224, 0, 0, 0, 4),    /* RFC 5771: multicast */
    V4(240, 0, 0, 0, 4),    /* RFC 1112: reserved, 255.255.255.255 */
    V6(128, 0),             /* RFC 4291: :: unspecified */
    V6(128, [15] = 1),      /* RFC 4291: ::1 loopback */
    V6(48, 0, 0x64, 0xff, 0x9b, 0, 1), /* RFC 8215: local-use NAT64 */
    V6(7, 0xfc),                       /* RFC 4193: unique local */
    V6(10, 0xfe, 0x80),                /* RFC 4291: link-local */
    V6(8, 0xff),                       /* RFC 4291: multicast */
    V6(32, 0x20, 0x01, 0x0d, 0xb8),    /* RFC 3849: documentation */
    /* AWS's IPv6 metadata endpoint (inside fc00::/7, listed so that the
     * table states it whatever becomes of that range). */
    V6(128, 0xfd, 0x00, 0x0e, 0xc2, [14] = 0x02, [15] = 0x54),
};

/* RFC 6052 §2.1: the well-known NAT64 prefix 64:ff9b::/96, which embeds
 * an IPv4 address in its last 32 bits. */
static const uint8_t turn_nat64_prefix[12] = {0, 0x64, 0xff, 0x9b};

static size_t turn_family_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

/* True when ip lies within cidr; a range never holds the other family. */
static bool turn_cidr_contains(const struct conf_cidr *cidr,
                               const struct turn_peer_ip *ip)
{
	size_t bits = cidr->prefix_len, whole = bits / 8;
	uint8_t mask;

	if (cidr->family != ip->family || bits > turn_family_bits(ip->family))
		return false;
	if (memcmp(cidr->addr, ip->bytes, whole) != 0)
		return false;
	if (bits % 8 == 0)
		return true;
	mask = (uint8_t)(0xff << (8 - bits % 8));
	return (cidr->addr[whole] & mask) == (ip->bytes[whole] & mask);
}

static bool turn_cidr_any(const struct conf_cidr *cidrs, size_t count,
                          const struct turn_peer_ip *ip)
{
	size_t i;

	for (i = 0; i < count; i++)
		if (turn_cidr_contains(&cidrs[i], ip))
			return true;
	return false;
}

static bool turn_denied_builtin(const struct turn_peer_ip *ip)
{
	size_t count =
	    sizeof(turn_denied_default) / sizeof(turn_denied_default[0]);
	struct turn_peer_ip embedded;

	if (turn_cidr_any(turn_denied_default, count, ip))
		return true;
	/* 64:ff9b::/96 itself is public, but RFC 6052 §3.1 forbids it for
	 * non-global IPv4: a NAT64 gateway that translated 64:ff9b::10.0.0.1
	 * anyway would carry the peer into the private network. */
	if (ip->family != AF_INET6 ||
	    memcmp(ip->bytes, turn_nat64_prefix, sizeof(turn_nat64_prefix)))
		return false;
	memset(&embedded, 0, sizeof(embedded));
	embedded.family = AF_INET;
	memcpy(embedded.bytes, ip->bytes + 12, 4);
	return turn_cidr_any(turn_denied_default, count, &embedded);
}

static bool turn_is_unspecified(const struct turn_peer_ip *ip)
{
	static const uint8_t zero[16];

	return memcmp(ip->bytes, zero, sizeof(zero)) == 0;
}

static bool turn_is_own(const struct turn_peer_policy *policy,
                        const struct turn_peer_ip *ip)
{
	size_t i;

	for (i = 0; i < policy->own_count; i++)
		if (policy->own[i].family == ip->family &&
		    memcmp(policy->own[i].bytes, ip->bytes, 16) == 0)
			return true;
	return false;
}

/* Adds an address of the server's, once; wildcards stand for no address
 * in particular and are skipped (the built-in table refuses them). */
static void turn_policy_add_own(struct turn_peer_policy *policy,
                                const struct sockaddr_storage *addr)
{
	struct turn_peer_ip ip;
	size_t max = sizeof(policy->own) / sizeof(policy->own[0]);

	turn_peer_ip_from(&ip, (const struct sockaddr *)addr);
	if (ip.family == 0 || turn_is_unspecified(&ip))
		return;
	if (turn_is_own(policy, &ip) || policy->own_count == max)
		return;
	policy->own[policy->own_count++] = ip;
}

void turn_peer_policy_init(struct turn_peer_policy *policy,
                           const struct conf *conf)
{
	size_t i;

	memset(policy, 0, sizeof(*policy));
	policy->conf = conf;
	if (conf == NULL)
		return;
	for (i = 0; i < conf->listen_count; i++)
		turn_policy_add_own(policy, &conf->listens[i].addr);
	if (conf->has_relay_v4)
		turn_policy_add_own(policy, &conf->relay_v4);
	if (conf->has_relay_v6)
		turn_policy_add_own(policy, &conf->relay_v6);
	if (conf->has_external_v4)
		turn_policy_add_own(policy, &conf->external_v4);
	if (conf->has_external_v6)
		turn_policy_add_own(policy, &conf->external_v6);
}

bool turn_peer_allowed(const struct turn_peer_policy *policy,
                       const struct sockaddr *peer)
{
	const struct conf *conf = policy->conf;
	struct turn_peer_ip ip;

	turn_peer_ip_from(&ip, peer);
	if (ip.family == 0)
		return false;
	/* The operator's word first: deny-peer beats allow-peer, and
	 * allow-peer beats every default (tests allow 127.0.0.0/8). */
	if (conf != NULL &&
	    turn_cidr_any(conf->deny_peers, conf->deny_peer_count, &ip))
		return false;
	if (conf != NULL &&
	    turn_cidr_any(conf->allow_peers, conf->allow_peer_count, &ip))
		return true;
	/* Relaying to itself would let a client loop traffic through the
	 * server or reach services bound to its addresses. */
	if (turn_is_own(policy, &ip))
		return false;
	return !turn_denied_builtin(&ip);
}
