/*
 * turn: the checks of an Allocate request (with messages built by the stun
 * writer) and the peer policy. Part of the test_turn program.
 */
#include "config.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>

#include "turnpike/turn.h"
#include "test_turn.h"

/* --- Allocate --- */

/* The TURN attributes of a test Allocate request; 0 means absent. */
struct alloc {
	uint8_t transport, requested, additional;
	int even_port; /* 1: without R, 2: with R */
	bool dont_fragment, token, has_lifetime;
	uint32_t lifetime;
};

static uint8_t alloc_buf[512];

static int parse(const struct conf *conf, struct alloc a,
                 struct turn_allocate_request *out)
{
	static const uint8_t tid[STUN_TID_SIZE] = {1, 2, 3};
	static const uint8_t token[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	struct stun_writer w;
	struct stun_msg msg;
	size_t len;

	stun_writer_init(&w, alloc_buf, sizeof(alloc_buf), STUN_METHOD_ALLOCATE,
	                 STUN_CLASS_REQUEST, tid);
	if (a.transport)
		stun_put_transport(&w, a.transport);
	if (a.dont_fragment)
		stun_put_bytes(&w, STUN_ATTR_DONT_FRAGMENT, NULL, 0);
	if (a.even_port)
		stun_put_even_port(&w, a.even_port == 2);
	if (a.token)
		stun_put_bytes(&w, STUN_ATTR_RESERVATION_TOKEN, token, 8);
	if (a.requested)
		stun_put_family(&w, STUN_ATTR_REQUESTED_ADDRESS_FAMILY,
		                a.requested);
	if (a.additional)
		stun_put_family(&w, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY,
		                a.additional);
	if (a.has_lifetime)
		stun_put_u32(&w, STUN_ATTR_LIFETIME, a.lifetime);
	cr_assert_eq(stun_writer_finish(&w, &len), 0);
	cr_assert_eq(stun_msg_decode(&msg, alloc_buf, len), 0);
	return turn_allocate_parse(conf, &msg, out);
}

#define UDP(...) ((struct alloc){.transport = STUN_TRANSPORT_UDP, __VA_ARGS__})
#define V4       STUN_ADDRESS_FAMILY_IPV4
#define V6       STUN_ADDRESS_FAMILY_IPV6

Test(turn_allocate, plain_request_gets_ipv4_and_its_options)
{
	struct conf conf = test_conf();
	struct turn_allocate_request r;

	cr_assert_eq(parse(&conf,
	                   UDP(.dont_fragment = true, .even_port = 2,
	                       .has_lifetime = true, .lifetime = 1200),
	                   &r),
	             0);
	cr_assert(r.want_ipv4 && !r.want_ipv6 && !r.partial_family);
	cr_assert(r.dont_fragment && r.even_port && r.reserve_next);
	cr_assert(r.has_lifetime);
	cr_assert_eq(r.lifetime, 1200);
	cr_assert_eq(parse(&conf, UDP(.even_port = 1), &r), 0);
	cr_assert(r.even_port && !r.reserve_next && !r.dont_fragment);
	cr_assert_not(r.has_lifetime);
}

Test(turn_allocate, reservation_token_is_read)
{
	struct conf conf = test_conf();
	struct turn_allocate_request r;

	cr_assert_eq(parse(&conf, UDP(.token = true), &r), 0);
	cr_assert(r.has_reservation_token);
	cr_assert_eq(r.reservation_token, 0x0102030405060708ull);
}

Test(turn_allocate, missing_transport_gets_400)
{
	struct conf conf = test_conf();
	struct turn_allocate_request r;

	cr_assert_eq(parse(&conf, (struct alloc){.dont_fragment = true}, &r),
	             400);
}

Test(turn_allocate, tcp_transport_gets_442)
{
	struct conf conf = test_conf();
	struct turn_allocate_request r;

	cr_assert_eq(parse(&conf, (struct alloc){.transport = 6}, &r), 442);
}

Test(turn_allocate, reservation_token_with_even_port_gets_400)
{
	struct conf conf = test_conf();
	struct turn_allocate_request r;

	cr_assert_eq(parse(&conf, UDP(.token = true, .even_port = 1), &r), 400);
}

Test(turn_allocate, reservation_token_with_requested_family_gets_400)
{
	struct conf conf = test_conf();
	struct turn_allocate_request r;

	cr_assert_eq(parse(&conf, UDP(.token = true, .requested = V4), &r),
	             400);
}

Test(turn_allocate, both_family_attributes_get_400)
{
	struct conf conf = test_conf();
	struct turn_allocate_request r;

	conf.has_relay_v6 = true;
	cr_assert_eq(parse(&conf, UDP(.requested = V4, .additional = V6), &r),
	             400);
}

Test(turn_allocate, unknown_requested_family_gets_440)
{
	struct conf conf = test_conf();
	struct turn_allocate_request r;

	cr_assert_eq(parse(&conf, UDP(.requested = 3), &r), 440);
	cr_assert_eq(parse(&conf, UDP(.requested = 0x40), &r), 440);
}

Test(turn_allocate, additional_family_other_than_ipv6_gets_400)
{
	struct conf conf = test_conf();
	struct turn_allocate_request r;

	cr_assert_eq(parse(&conf, UDP(.additional = V4), &r), 400);
	cr_assert_eq(parse(&conf, UDP(.additional = 3), &r), 400);
}

Test(turn_allocate, family_without_relay_address_gets_440)
{
	struct conf conf = test_conf();
	struct turn_allocate_request r;

	cr_assert_eq(parse(&conf, UDP(.requested = V6), &r), 440);
	conf.has_relay_v4 = false;
	conf.has_relay_v6 = true;
	cr_assert_eq(parse(&conf, UDP(.requested = V4), &r), 440);
	/* No family attribute means IPv4 (RFC 8656 §7.2). */
	cr_assert_eq(parse(&conf, UDP(), &r), 440);
	cr_assert_eq(parse(&conf, UDP(.requested = V6), &r), 0);
	cr_assert(r.want_ipv6 && !r.want_ipv4);
}

Test(turn_allocate, dual_stack_with_both_families_gets_both)
{
	struct conf conf = test_conf();
	struct turn_allocate_request r;

	conf.has_relay_v6 = true;
	cr_assert_eq(parse(&conf, UDP(.additional = V6), &r), 0);
	cr_assert(r.want_ipv4 && r.want_ipv6 && !r.partial_family);
}

Test(turn_allocate, dual_stack_with_ipv4_only_is_partial)
{
	struct conf conf = test_conf();
	struct turn_allocate_request r;

	cr_assert_eq(parse(&conf, UDP(.additional = V6), &r), 0);
	cr_assert(r.want_ipv4 && !r.want_ipv6 && r.partial_family);
	cr_assert_eq(r.missing_family, V6);
}

Test(turn_allocate, dual_stack_with_ipv6_only_is_partial)
{
	struct conf conf = test_conf();
	struct turn_allocate_request r;

	conf.has_relay_v4 = false;
	conf.has_relay_v6 = true;
	cr_assert_eq(parse(&conf, UDP(.additional = V6), &r), 0);
	cr_assert(!r.want_ipv4 && r.want_ipv6 && r.partial_family);
	cr_assert_eq(r.missing_family, V4);
	conf.has_relay_v6 = false;
	cr_assert_eq(parse(&conf, UDP(.additional = V6), &r), 440);
}

/* --- Peer policy --- */

static bool allowed(const struct conf *conf, const char *ip)
{
	struct turn_peer_policy policy;
	struct sockaddr_storage peer = addr(ip, 3478);

	turn_peer_policy_init(&policy, conf);
	return turn_peer_allowed(&policy, SA(peer));
}

/* Every default-denied range, at its edges where they are not also the
 * edges of a neighbour. */
static const char *const denied_v4[] = {
    "0.0.0.0",     "0.255.255.255",   "10.0.0.1",    "10.255.255.255",
    "100.64.0.1",  "100.127.255.254", "127.0.0.1",   "127.255.255.254",
    "169.254.0.1", "169.254.169.254", "172.16.0.1",  "172.31.255.254",
    "192.0.0.1",   "192.0.0.255",     "192.168.0.1", "192.168.255.255",
    "198.18.0.1",  "198.19.255.255",  "224.0.0.1",   "239.255.255.250",
    "240.0.0.1",   "255.255.255.255",
};
static const char *const denied_v6[] = {
    "::",
    "::1",
    "64:ff9b:1::1",
    "64:ff9b:1:ffff::1",
    "fc00::1",
    "fd12::1",
    "fe80::1",
    "febf::1",
    "ff02::1",
    "ff0e::1",
    "2001:db8::1",
    "2001:db8:ffff::1",
    "fd00:ec2::254",
};
static const char *const public_peers[] = {
    "8.8.8.8",          "1.1.1.1",         "100.63.255.255",  "100.128.0.1",
    "172.15.255.255",   "172.32.0.1",      "198.17.255.255",  "198.20.0.1",
    "192.0.1.1",        "223.255.255.255", "2606:4700::1111", "2001:db9::1",
    "64:ff9b::808:808", "::ffff:8.8.8.8",
};

Test(turn_peer_policy, default_denied_ipv4_ranges_are_refused)
{
	struct conf conf = test_conf();
	size_t i;

	for (i = 0; i < sizeof(denied_v4) / sizeof(denied_v4[0]); i++)
		cr_expect_not(allowed(&conf, denied_v4[i]), "%s", denied_v4[i]);
}

Test(turn_peer_policy, default_denied_ipv6_ranges_are_refused)
{
	struct conf conf = test_conf();
	size_t i;

	for (i = 0; i < sizeof(denied_v6) / sizeof(denied_v6[0]); i++)
		cr_expect_not(allowed(&conf, denied_v6[i]), "%s", denied_v6[i]);
}

Test(turn_peer_policy, ipv4_mapped_denied_ranges_are_refused)
{
	struct conf conf = test_conf();
	char mapped[64];
	size_t i;

	for (i = 0; i < sizeof(denied_v4) / sizeof(denied_v4[0]); i++) {
		snprintf(mapped, sizeof(mapped), "::ffff:%s", denied_v4[i]);
		cr_expect_not(allowed(&conf, mapped), "%s", mapped);
	}
}

Test(turn_peer_policy, nat64_of_a_private_address_is_refused)
{
	struct conf conf = test_conf();

	cr_expect_not(allowed(&conf, "64:ff9b::a00:1"));     /* 10.0.0.1 */
	cr_expect_not(allowed(&conf, "64:ff9b::a9fe:a9fe")); /* metadata */
}

Test(turn_peer_policy, public_addresses_are_allowed)
{
	struct conf conf = test_conf();
	size_t i;

	for (i = 0; i < sizeof(public_peers) / sizeof(public_peers[0]); i++)
		cr_expect(allowed(&conf, public_peers[i]), "%s",
		          public_peers[i]);
}

Test(turn_peer_policy, allow_peer_127_allows_127_0_0_1)
{
	struct conf conf = test_conf();
	struct conf_cidr allow = {
	    .family = AF_INET, .addr = {127, 0, 0, 0}, .prefix_len = 8};
	struct conf_listen listen = {.addr = addr("127.0.0.1", 3478)};

	conf.allow_peers = &allow;
	conf.allow_peer_count = 1;
	/* Even when the server listens there itself: the tests need it. */
	conf.listens = &listen;
	conf.listen_count = 1;
	cr_assert(allowed(&conf, "127.0.0.1"));
	cr_assert(allowed(&conf, "::ffff:127.0.0.2"));
	cr_assert_not(allowed(&conf, "10.0.0.1"));
}

Test(turn_peer_policy, deny_peer_beats_allow_peer)
{
	struct conf conf = test_conf();
	struct conf_cidr allow = {
	    .family = AF_INET, .addr = {127, 0, 0, 0}, .prefix_len = 8};
	struct conf_cidr deny[] = {
	    {.family = AF_INET, .addr = {127, 0, 0, 2}, .prefix_len = 31},
	    {.family = AF_INET, .addr = {8, 8, 0, 0}, .prefix_len = 16},
	};

	conf.allow_peers = &allow;
	conf.allow_peer_count = 1;
	conf.deny_peers = deny;
	conf.deny_peer_count = 2;
	cr_assert(allowed(&conf, "127.0.0.1"));
	cr_assert_not(allowed(&conf, "127.0.0.2"));
	cr_assert_not(allowed(&conf, "127.0.0.3"));
	cr_assert(allowed(&conf, "127.0.0.4"));
	cr_assert_not(allowed(&conf, "8.8.8.8"));
	cr_assert(allowed(&conf, "8.9.0.1"));
}

Test(turn_peer_policy, own_relay_address_is_refused)
{
	struct conf conf = test_conf();

	cr_assert_not(allowed(&conf, "203.0.113.10"));
	cr_assert_not(allowed(&conf, "::ffff:203.0.113.10"));
	cr_assert(allowed(&conf, "203.0.113.11"));
}

Test(turn_peer_policy, own_external_and_listen_addresses_are_refused)
{
	struct conf conf = test_conf();
	struct conf_listen listens[] = {
	    {.addr = addr("0.0.0.0", 3478)},
	    {.addr = addr("::", 3478)},
	    {.addr = addr("2606:4700::5", 3478)},
	};

	conf.external_v4 = addr("198.51.100.7", 0);
	conf.has_external_v4 = true;
	conf.relay_v6 = addr("2606:4700::6", 0);
	conf.has_relay_v6 = true;
	conf.listens = listens;
	conf.listen_count = 3;
	cr_assert_not(allowed(&conf, "198.51.100.7"));
	cr_assert_not(allowed(&conf, "2606:4700::5"));
	cr_assert_not(allowed(&conf, "2606:4700::6"));
	cr_assert(allowed(&conf, "2606:4700::7"));
}
