/*
 * turn: permissions, channels, lifetimes and the timing wheel, with a fake
 * clock (plain `now` values). Allocate checks and the peer policy are in
 * test_turn_policy.c, linked into the same program.
 */
#include "config.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>

#include "turnpike/turn.h"
#include "test_turn.h"

static struct turn_state state;

static void state_setup(void)
{
	turn_state_init(&state, 0, 3600);
}

/* --- Permissions --- */

TestSuite(turn_permission, .init = state_setup);

Test(turn_permission, expires_after_300_seconds)
{
	struct sockaddr_storage peer = addr("198.51.100.1", 5000);

	cr_assert_eq(turn_permission_install(&state, SA(peer), 1000), 0);
	cr_assert(turn_permission_allows(&state, SA(peer), 1299));
	cr_assert_not(turn_permission_allows(&state, SA(peer), 1300));
}

Test(turn_permission, refreshed_permission_lasts_another_300)
{
	struct sockaddr_storage peer = addr("198.51.100.1", 5000);

	cr_assert_eq(turn_permission_install(&state, SA(peer), 0), 0);
	cr_assert_eq(turn_permission_install(&state, SA(peer), 200), 0);
	cr_assert_eq(state.permission_count, 1);
	cr_assert(turn_permission_allows(&state, SA(peer), 499));
	cr_assert_not(turn_permission_allows(&state, SA(peer), 500));
}

Test(turn_permission, permission_ignores_port)
{
	struct sockaddr_storage a = addr("198.51.100.1", 5000);
	struct sockaddr_storage b = addr("198.51.100.1", 6000);
	struct sockaddr_storage other = addr("198.51.100.2", 5000);

	cr_assert_eq(turn_permission_install(&state, SA(a), 0), 0);
	cr_assert(turn_permission_allows(&state, SA(b), 10));
	cr_assert_not(turn_permission_allows(&state, SA(other), 10));
}

Test(turn_permission, ipv4_mapped_peer_matches_ipv4_permission)
{
	struct sockaddr_storage v4 = addr("198.51.100.1", 5000);
	struct sockaddr_storage mapped = addr("::ffff:198.51.100.1", 5000);
	struct sockaddr_storage v6 = addr("2001:db9::1", 5000);

	cr_assert_eq(turn_permission_install(&state, SA(v4), 0), 0);
	cr_assert(turn_permission_allows(&state, SA(mapped), 1));
	cr_assert_eq(turn_permission_install(&state, SA(mapped), 2), 0);
	cr_assert_eq(state.permission_count, 1);
	cr_assert_not(turn_permission_allows(&state, SA(v6), 1));
}

Test(turn_permission, 33rd_permission_gets_508)
{
	struct sockaddr_storage peer;
	char ip[32];
	int i;

	for (i = 0; i < TURN_MAX_PERMISSIONS; i++) {
		snprintf(ip, sizeof(ip), "198.51.100.%d", i + 1);
		peer = addr(ip, 1);
		cr_assert_eq(turn_permission_install(&state, SA(peer), 0), 0);
	}
	peer = addr("198.51.100.200", 1);
	cr_assert_eq(turn_permission_install(&state, SA(peer), 0), 508);
	/* Refreshing one already there needs no room. */
	peer = addr("198.51.100.1", 1);
	cr_assert_eq(turn_permission_install(&state, SA(peer), 1), 0);
	/* An expired permission gives up its place. */
	peer = addr("198.51.100.200", 1);
	cr_assert_eq(turn_permission_install(&state, SA(peer), 300), 0);
}

Test(turn_permission, expire_removes_expired_and_returns_next_deadline)
{
	struct sockaddr_storage a = addr("198.51.100.1", 1);
	struct sockaddr_storage b = addr("198.51.100.2", 1);

	turn_permission_install(&state, SA(a), 0);
	turn_permission_install(&state, SA(b), 100);
	cr_assert_eq(turn_state_expire(&state, 10), 300);
	cr_assert_eq(turn_state_expire(&state, 300), 400);
	cr_assert_eq(state.permission_count, 1);
	cr_assert(turn_permission_allows(&state, SA(b), 300));
	cr_assert_eq(turn_state_expire(&state, 400), 3600);
	cr_assert_eq(state.permission_count, 0);
	cr_assert_eq(turn_state_expire(&state, 3600), 0);
}

/* --- Channels --- */

TestSuite(turn_channel, .init = state_setup);

Test(turn_channel, number_below_0x4000_gets_400)
{
	struct sockaddr_storage peer = addr("198.51.100.1", 5000);

	cr_assert_eq(turn_channel_bind(&state, 0x3FFF, SA(peer), 0), 400);
	cr_assert_eq(turn_channel_bind(&state, 0x4000, SA(peer), 0), 0);
}

Test(turn_channel, number_above_0x4FFF_gets_400)
{
	struct sockaddr_storage peer = addr("198.51.100.1", 5000);

	cr_assert_eq(turn_channel_bind(&state, 0x5000, SA(peer), 0), 400);
	cr_assert_eq(turn_channel_bind(&state, 0x4FFF, SA(peer), 0), 0);
}

Test(turn_channel, rfc5766_range_accepts_up_to_0x7FFF_only_when_enabled)
{
	struct sockaddr_storage a = addr("198.51.100.1", 5000),
	                        b = addr("198.51.100.2", 5000);

	state.channel_max = STUN_CHANNEL_LEGACY_MAX;
	cr_assert_eq(turn_channel_bind(&state, 0x7c9b, SA(a), 0), 0);
	cr_assert_eq(turn_channel_bind(&state, 0x8000, SA(b), 0), 400);
}

Test(turn_channel, rebinding_number_to_other_peer_gets_400)
{
	struct sockaddr_storage a = addr("198.51.100.1", 5000);
	struct sockaddr_storage other_port = addr("198.51.100.1", 5001);

	cr_assert_eq(turn_channel_bind(&state, 0x4000, SA(a), 0), 0);
	cr_assert_eq(turn_channel_bind(&state, 0x4000, SA(other_port), 1), 400);
}

Test(turn_channel, binding_peer_to_second_number_gets_400)
{
	struct sockaddr_storage a = addr("198.51.100.1", 5000);
	struct sockaddr_storage mapped = addr("::ffff:198.51.100.1", 5000);

	cr_assert_eq(turn_channel_bind(&state, 0x4000, SA(a), 0), 0);
	cr_assert_eq(turn_channel_bind(&state, 0x4001, SA(a), 1), 400);
	cr_assert_eq(turn_channel_bind(&state, 0x4001, SA(mapped), 1), 400);
}

Test(turn_channel, same_pair_refreshes)
{
	struct sockaddr_storage a = addr("198.51.100.1", 5000);

	cr_assert_eq(turn_channel_bind(&state, 0x4000, SA(a), 0), 0);
	cr_assert_eq(turn_channel_bind(&state, 0x4000, SA(a), 500), 0);
	cr_assert_eq(state.channel_count, 1);
	cr_assert_not_null(turn_channel_by_number(&state, 0x4000, 1099));
	cr_assert_null(turn_channel_by_number(&state, 0x4000, 1100));
}

Test(turn_channel, binding_installs_permission)
{
	struct sockaddr_storage a = addr("198.51.100.1", 5000);
	struct sockaddr_storage b = addr("198.51.100.1", 7000);

	cr_assert_not(turn_permission_allows(&state, SA(b), 0));
	cr_assert_eq(turn_channel_bind(&state, 0x4000, SA(a), 0), 0);
	cr_assert(turn_permission_allows(&state, SA(b), 299));
	/* A refresh of the binding refreshes the permission too. */
	cr_assert_eq(turn_channel_bind(&state, 0x4000, SA(a), 250), 0);
	cr_assert(turn_permission_allows(&state, SA(b), 549));
}

Test(turn_channel, expired_channel_cools_down_300_seconds)
{
	struct sockaddr_storage a = addr("198.51.100.1", 5000);
	struct sockaddr_storage b = addr("198.51.100.2", 5000);

	cr_assert_eq(turn_channel_bind(&state, 0x4000, SA(a), 0), 0);
	/* Refused during the cooldown, before and after expire runs. */
	cr_assert_eq(turn_channel_bind(&state, 0x4000, SA(b), 650), 400);
	cr_assert_eq(turn_state_expire(&state, 700), 900);
	cr_assert_eq(state.channel_count, 1);
	cr_assert_not(state.channels[0].bound);
	cr_assert_eq(turn_channel_bind(&state, 0x4000, SA(b), 899), 400);
	cr_assert_eq(turn_channel_bind(&state, 0x4001, SA(a), 899), 400);
	/* Allowed once it is over. */
	cr_assert_eq(turn_channel_bind(&state, 0x4000, SA(b), 900), 0);
	cr_assert_eq(turn_channel_bind(&state, 0x4001, SA(a), 900), 0);
	cr_assert_eq(state.channel_count, 2);
}

Test(turn_channel, finished_cooldown_is_removed)
{
	struct sockaddr_storage a = addr("198.51.100.1", 5000);

	cr_assert_eq(turn_channel_bind(&state, 0x4000, SA(a), 0), 0);
	cr_assert_eq(turn_state_expire(&state, 600), 900);
	cr_assert_eq(turn_state_expire(&state, 900), 3600);
	cr_assert_eq(state.channel_count, 0);
}

Test(turn_channel, same_pair_may_rebind_during_cooldown)
{
	struct sockaddr_storage a = addr("198.51.100.1", 5000);

	cr_assert_eq(turn_channel_bind(&state, 0x4000, SA(a), 0), 0);
	turn_state_expire(&state, 600);
	cr_assert_eq(turn_channel_bind(&state, 0x4000, SA(a), 700), 0);
	cr_assert_not_null(turn_channel_by_peer(&state, SA(a), 1299));
	cr_assert_eq(state.channel_count, 1);
}

Test(turn_channel, lookup_after_expiry_returns_null)
{
	struct sockaddr_storage a = addr("198.51.100.1", 5000);
	struct sockaddr_storage mapped = addr("::ffff:198.51.100.1", 5000);
	struct sockaddr_storage port = addr("198.51.100.1", 5001);
	const struct turn_channel *c;

	cr_assert_eq(turn_channel_bind(&state, 0x4000, SA(a), 0), 0);
	c = turn_channel_by_number(&state, 0x4000, 599);
	cr_assert_not_null(c);
	cr_assert_eq(c->number, 0x4000);
	cr_assert_eq(turn_channel_by_peer(&state, SA(mapped), 599), c);
	cr_assert_null(turn_channel_by_peer(&state, SA(port), 599));
	cr_assert_null(turn_channel_by_number(&state, 0x4000, 600));
	cr_assert_null(turn_channel_by_peer(&state, SA(a), 600));
}

Test(turn_channel, 17th_channel_gets_508)
{
	struct sockaddr_storage peer;
	uint16_t i;

	for (i = 0; i < TURN_MAX_CHANNELS; i++) {
		peer = addr("198.51.100.1", (uint16_t)(5000 + i));
		cr_assert_eq(turn_channel_bind(&state, 0x4000 + i, SA(peer), 0),
		             0);
	}
	peer = addr("198.51.100.1", 6000);
	cr_assert_eq(turn_channel_bind(&state, 0x4100, SA(peer), 0), 508);
}

Test(turn_channel, full_permission_table_gets_508_and_binds_nothing)
{
	struct sockaddr_storage peer;
	char ip[32];
	int i;

	for (i = 0; i < TURN_MAX_PERMISSIONS; i++) {
		snprintf(ip, sizeof(ip), "198.51.100.%d", i + 1);
		peer = addr(ip, 1);
		cr_assert_eq(turn_permission_install(&state, SA(peer), 0), 0);
	}
	peer = addr("198.51.100.200", 1);
	cr_assert_eq(turn_channel_bind(&state, 0x4000, SA(peer), 0), 508);
	cr_assert_null(turn_channel_by_number(&state, 0x4000, 0));
	cr_assert_eq(state.channel_count, 0);
}

/* --- Lifetimes --- */

Test(turn_lifetime, without_lifetime_gets_default)
{
	struct conf conf = test_conf();

	cr_assert_eq(turn_lifetime_grant(&conf, false, 0), 600);
}

Test(turn_lifetime, below_default_gets_default)
{
	struct conf conf = test_conf();

	cr_assert_eq(turn_lifetime_grant(&conf, true, 60), 600);
	cr_assert_eq(turn_lifetime_grant(&conf, true, 0), 600);
}

Test(turn_lifetime, between_default_and_max_gets_requested)
{
	struct conf conf = test_conf();

	cr_assert_eq(turn_lifetime_grant(&conf, true, 1200), 1200);
}

Test(turn_lifetime, above_max_gets_max)
{
	struct conf conf = test_conf();

	cr_assert_eq(turn_lifetime_grant(&conf, true, 86400), 3600);
	cr_assert_eq(turn_lifetime_grant(&conf, true, UINT32_MAX), 3600);
}

/* --- Timing wheel --- */

static struct turn_wheel wheel;

static void wheel_setup(void)
{
	turn_wheel_init(&wheel, 100);
}

TestSuite(turn_wheel, .init = wheel_setup);

Test(turn_wheel, fires_at_deadline_not_before)
{
	struct turn_wheel_node node = {0};

	turn_wheel_schedule(&wheel, &node, 105);
	cr_assert(turn_wheel_scheduled(&node));
	cr_assert_null(turn_wheel_expired(&wheel, 104));
	cr_assert_eq(turn_wheel_expired(&wheel, 105), &node);
	cr_assert_not(turn_wheel_scheduled(&node));
	cr_assert_null(turn_wheel_expired(&wheel, 106));
	cr_assert_eq(wheel.count, 0);
}

Test(turn_wheel, past_deadline_fires_at_once)
{
	struct turn_wheel_node node = {0};

	cr_assert_null(turn_wheel_expired(&wheel, 200));
	turn_wheel_schedule(&wheel, &node, 150);
	cr_assert_eq(turn_wheel_expired(&wheel, 200), &node);
}

Test(turn_wheel, reschedule_moves)
{
	struct turn_wheel_node node = {0};

	turn_wheel_schedule(&wheel, &node, 105);
	turn_wheel_schedule(&wheel, &node, 110);
	cr_assert_eq(wheel.count, 1);
	cr_assert_null(turn_wheel_expired(&wheel, 109));
	cr_assert_eq(turn_wheel_expired(&wheel, 110), &node);
	/* A returned node can go straight back on. */
	turn_wheel_schedule(&wheel, &node, 112);
	cr_assert_null(turn_wheel_expired(&wheel, 111));
	cr_assert_eq(turn_wheel_expired(&wheel, 112), &node);
}

Test(turn_wheel, cancel)
{
	struct turn_wheel_node node = {0}, other = {0};

	turn_wheel_schedule(&wheel, &node, 105);
	turn_wheel_schedule(&wheel, &other, 105);
	turn_wheel_cancel(&wheel, &node);
	turn_wheel_cancel(&wheel, &node);
	cr_assert_not(turn_wheel_scheduled(&node));
	cr_assert_eq(wheel.count, 1);
	cr_assert_eq(turn_wheel_expired(&wheel, 5000), &other);
	cr_assert_null(turn_wheel_expired(&wheel, 5000));
}

Test(turn_wheel, deadline_beyond_span_waits_for_its_lap)
{
	struct turn_wheel_node far = {0}, near = {0};

	/* Same slot, one and two laps on. */
	turn_wheel_schedule(&wheel, &far, 105 + 2 * TURN_WHEEL_SLOTS);
	turn_wheel_schedule(&wheel, &near, 105 + TURN_WHEEL_SLOTS);
	cr_assert_null(turn_wheel_expired(&wheel, 105));
	cr_assert_null(turn_wheel_expired(&wheel, 104 + TURN_WHEEL_SLOTS));
	cr_assert_eq(turn_wheel_expired(&wheel, 105 + TURN_WHEEL_SLOTS), &near);
	cr_assert_null(turn_wheel_expired(&wheel, 105 + TURN_WHEEL_SLOTS));
	cr_assert_null(turn_wheel_expired(&wheel, 104 + 2 * TURN_WHEEL_SLOTS));
	cr_assert_eq(turn_wheel_expired(&wheel, 105 + 2 * TURN_WHEEL_SLOTS),
	             &far);
}

Test(turn_wheel, gap_of_many_laps_finds_every_due_node)
{
	static struct turn_wheel_node nodes[3000];
	size_t i, found = 0;

	memset(nodes, 0, sizeof(nodes));
	for (i = 0; i < 3000; i++)
		turn_wheel_schedule(&wheel, &nodes[i], 101 + i * 7);
	/* 101 + 2999 * 7 = 21094: a jump to 15000 takes all before it. */
	while (turn_wheel_expired(&wheel, 15000) != NULL)
		found++;
	cr_assert_eq(found, (15000 - 101) / 7 + 1);
	for (i = 0; i < 3000; i++)
		cr_assert_eq(turn_wheel_scheduled(&nodes[i]),
		             nodes[i].deadline > 15000);
}

Test(turn_wheel, many_nodes)
{
	static struct turn_wheel_node nodes[20000];
	struct turn_wheel_node *node;
	uint64_t now;
	size_t i, found = 0;

	memset(nodes, 0, sizeof(nodes));
	/* Spread over five laps, and crowd one slot with later laps before
	 * nodes due in it, to exercise the cursor. */
	for (i = 0; i < 10000; i++)
		turn_wheel_schedule(&wheel, &nodes[i],
		                    100 + (i * 7919) % (5 * TURN_WHEEL_SLOTS));
	for (i = 10000; i < 20000; i++)
		turn_wheel_schedule(&wheel, &nodes[i],
		                    i < 15000 ? 200 + 3 * TURN_WHEEL_SLOTS
		                              : 200);
	for (now = 100; now <= 100 + 5 * TURN_WHEEL_SLOTS; now++) {
		while ((node = turn_wheel_expired(&wheel, now)) != NULL) {
			cr_assert_eq(node->deadline, now);
			found++;
			/* Cancel a neighbour mid-scan: the cursor survives. */
			if (node == &nodes[15000])
				turn_wheel_cancel(&wheel, &nodes[15001]);
		}
	}
	cr_assert_eq(found, 20000 - 1);
	cr_assert_eq(wheel.count, 0);
}
