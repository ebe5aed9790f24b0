/*
 * The TURN attributes of an Allocate request, read and judged against the
 * configuration (RFC 8656 §7.2). What needs the outside world (the 5-tuple
 * table, the reservation tokens, free ports, quotas) is the worker's; this
 * file only says what the request asks for, or which error it earns.
 */
#include "config.h"

#include <string.h>

#include "turnpike/turn.h"

/* The attributes of an Allocate request this file looks at. */
struct turn_allocate_attrs {
	const struct stun_attr *transport, *dont_fragment, *even_port,
	    *reservation_token, *requested_family, *additional_family,
	    *lifetime;
};

static void turn_allocate_find(const struct stun_msg *msg,
                               struct turn_allocate_attrs *a)
{
	a->transport = stun_msg_find(msg, STUN_ATTR_REQUESTED_TRANSPORT);
	a->dont_fragment = stun_msg_find(msg, STUN_ATTR_DONT_FRAGMENT);
	a->even_port = stun_msg_find(msg, STUN_ATTR_EVEN_PORT);
	a->reservation_token = stun_msg_find(msg, STUN_ATTR_RESERVATION_TOKEN);
	a->requested_family =
	    stun_msg_find(msg, STUN_ATTR_REQUESTED_ADDRESS_FAMILY);
	a->additional_family =
	    stun_msg_find(msg, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY);
	a->lifetime = stun_msg_find(msg, STUN_ATTR_LIFETIME);
}

static int turn_allocate_transport(const struct stun_msg *msg,
                                   const struct turn_allocate_attrs *a)
{
	uint8_t protocol;

	/* RFC 8656 §7.2: REQUESTED-TRANSPORT missing or malformed is 400;
	 * a protocol the server does not relay is 442 (only UDP here). */
	if (a->transport == NULL ||
	    stun_attr_read_transport(msg, a->transport, &protocol) != 0)
		return 400;
	return protocol == STUN_TRANSPORT_UDP ? 0 : 442;
}

static int turn_allocate_even_port(const struct stun_msg *msg,
                                   const struct turn_allocate_attrs *a,
                                   struct turn_allocate_request *out)
{
	if (a->even_port == NULL)
		return 0;
	/* RFC 8489 §6.3.1: a malformed attribute makes the request bad. */
	if (stun_attr_read_even_port(msg, a->even_port, &out->reserve_next))
		return 400;
	out->even_port = true;
	return 0;
}

static int turn_allocate_token(const struct stun_msg *msg,
                               const struct turn_allocate_attrs *a,
                               struct turn_allocate_request *out)
{
	const uint8_t *value;
	uint64_t token = 0;
	int i;

	if (a->reservation_token == NULL)
		return 0;
	/* RFC 8656 §7.2: a token comes with neither EVEN-PORT (it already
	 * names the port) nor REQUESTED-ADDRESS-FAMILY (it already names
	 * the family): either is 400. */
	if (a->even_port != NULL || a->requested_family != NULL)
		return 400;
	/* RFC 8656 §18.10: the token is 8 bytes. */
	if (a->reservation_token->length != 8)
		return 400;
	value = stun_attr_value(msg, a->reservation_token);
	for (i = 0; i < 8; i++)
		token = token << 8 | value[i];
	out->has_reservation_token = true;
	out->reservation_token = token;
	return 0;
}

static bool turn_family_configured(const struct conf *conf, uint8_t family)
{
	if (family == STUN_ADDRESS_FAMILY_IPV4)
		return conf->has_relay_v4;
	if (family == STUN_ADDRESS_FAMILY_IPV6)
		return conf->has_relay_v6;
	return false;
}

static void turn_want_family(struct turn_allocate_request *out, uint8_t family)
{
	if (family == STUN_ADDRESS_FAMILY_IPV4)
		out->want_ipv4 = true;
	else
		out->want_ipv6 = true;
}

/* RFC 8656 §7.2: one family asked for in REQUESTED-ADDRESS-FAMILY. */
static int turn_allocate_requested(const struct conf *conf,
                                   const struct stun_msg *msg,
                                   const struct stun_attr *attr,
                                   struct turn_allocate_request *out)
{
	uint8_t family;

	if (stun_attr_read_family(msg, attr, &family) != 0)
		return 400;
	/* An unknown family and a family with no relay address are both
	 * "not supported": 440. */
	if (family != STUN_ADDRESS_FAMILY_IPV4 &&
	    family != STUN_ADDRESS_FAMILY_IPV6)
		return 440;
	if (!turn_family_configured(conf, family))
		return 440;
	turn_want_family(out, family);
	return 0;
}

/* RFC 8656 §7.2: dual stack, asked for with ADDITIONAL-ADDRESS-FAMILY. */
static int turn_allocate_additional(const struct conf *conf,
                                    const struct stun_msg *msg,
                                    const struct stun_attr *attr,
                                    struct turn_allocate_request *out)
{
	uint8_t family;

	/* The additional family can only be IPv6 (IPv4 is implied): any
	 * other value is 400, not 440. */
	if (stun_attr_read_family(msg, attr, &family) != 0 ||
	    family != STUN_ADDRESS_FAMILY_IPV6)
		return 400;
	out->want_ipv4 = conf->has_relay_v4;
	out->want_ipv6 = conf->has_relay_v6;
	if (!out->want_ipv4 && !out->want_ipv6)
		return 440;
	/* With one family only, the allocation succeeds in it and the
	 * response carries ADDRESS-ERROR-CODE 440 for the other. */
	if (!out->want_ipv6) {
		out->partial_family = true;
		out->missing_family = STUN_ADDRESS_FAMILY_IPV6;
	} else if (!out->want_ipv4) {
		out->partial_family = true;
		out->missing_family = STUN_ADDRESS_FAMILY_IPV4;
	}
	return 0;
}

static int turn_allocate_family(const struct conf *conf,
                                const struct stun_msg *msg,
                                const struct turn_allocate_attrs *a,
                                struct turn_allocate_request *out)
{
	/* RFC 8656 §7.2: both family attributes at once is 400. */
	if (a->requested_family != NULL && a->additional_family != NULL)
		return 400;
	if (a->additional_family != NULL)
		return turn_allocate_additional(conf, msg, a->additional_family,
		                                out);
	if (a->requested_family != NULL)
		return turn_allocate_requested(conf, msg, a->requested_family,
		                               out);
	/* RFC 8656 §7.2: without REQUESTED-ADDRESS-FAMILY the relayed
	 * address is IPv4, and a server without IPv4 answers 440. */
	if (!conf->has_relay_v4)
		return 440;
	out->want_ipv4 = true;
	return 0;
}

static int turn_allocate_lifetime(const struct stun_msg *msg,
                                  const struct turn_allocate_attrs *a,
                                  struct turn_allocate_request *out)
{
	if (a->lifetime == NULL)
		return 0;
	if (stun_attr_read_u32(msg, a->lifetime, &out->lifetime) != 0)
		return 400;
	out->has_lifetime = true;
	return 0;
}

int turn_allocate_parse(const struct conf *conf, const struct stun_msg *msg,
                        struct turn_allocate_request *out)
{
	struct turn_allocate_attrs a;
	int rc;

	memset(out, 0, sizeof(*out));
	turn_allocate_find(msg, &a);
	/* In the order of RFC 8656 §7.2, so that a request with several
	 * faults gets the error the RFC checks first. */
	rc = turn_allocate_transport(msg, &a);
	if (rc == 0) {
		/* RFC 8656 §7.2, §18.9: DONT-FRAGMENT is supported (the
		 * worker sets DF on the relay socket), so never 420. */
		out->dont_fragment = a.dont_fragment != NULL;
		rc = turn_allocate_even_port(msg, &a, out);
	}
	if (rc == 0)
		rc = turn_allocate_token(msg, &a, out);
	if (rc == 0)
		rc = turn_allocate_family(conf, msg, &a, out);
	if (rc == 0)
		rc = turn_allocate_lifetime(msg, &a, out);
	return rc;
}
