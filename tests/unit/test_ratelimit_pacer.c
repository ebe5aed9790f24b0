/*
 * ratelimit: the packet pool and the pacer (the Carousel timing wheel),
 * with a fake clock.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "test_ratelimit.h"

/* What the tests put in a datagram. */
struct payload {
	uint64_t seq;
	uint64_t arrival;
};

static struct rl_datagram datagram_of(const struct payload *p, uint32_t length)
{
	struct rl_datagram d = {.data = p, .length = length, .meta = p->seq};

	return d;
}

static struct payload payload_of(const struct rl_packet *packet)
{
	struct payload p;

	memcpy(&p, packet->data, sizeof(p));
	return p;
}

/* Queues a small datagram on a flow at a departure. */
static int enqueue(struct rl_pacer *pacer, struct rl_flow *flow, uint64_t now,
                   uint64_t departure, uint64_t seq)
{
	struct payload p = {.seq = seq, .arrival = now};
	struct rl_datagram d = datagram_of(&p, sizeof(p));

	return rl_pacer_enqueue(pacer, flow, now, departure, &d);
}

/* The next due packet's sequence number, released; -1 when none. */
static long long due_seq(struct rl_pacer *pacer, uint64_t now)
{
	struct rl_packet *packet = rl_pacer_due(pacer, now);
	long long seq;

	if (packet == NULL)
		return -1;
	seq = (long long)payload_of(packet).seq;
	rl_pacer_release(pacer, packet);
	return seq;
}

/* --- Pool --------------------------------------------------------------- */

TestSuite(rl_pool);

Test(rl_pool, enqueue_past_the_pool_bound_is_refused)
{
	struct rl_pacer pacer;
	struct rl_flow flow;
	int i;

	cr_assert_eq(rl_pacer_init(&pacer, MS(1), MS(50), 8, 64), 0);
	rl_flow_init(&flow, 0);
	for (i = 0; i < 8; i++)
		cr_assert_eq(enqueue(&pacer, &flow, T0, T0 + MS(1), i), 0);
	cr_assert_eq(enqueue(&pacer, &flow, T0, T0 + MS(1), 8), ENOBUFS);
	cr_assert_eq(pacer.stats.dropped_pool, 1);
	cr_assert_eq(pacer.pool.used, 8);
	cr_assert_eq(flow.queued_packets, 8);
	rl_pacer_free(&pacer);
}

Test(rl_pool, buffers_come_from_the_pool_and_go_back_to_it)
{
	/* 1000 round trips through a pool of 4: every buffer lies in the
	 * memory allocated at init, at a buffer boundary. */
	struct rl_pacer pacer;
	struct rl_flow flow;
	struct rl_packet *packet;
	uint64_t now = T0;
	size_t offset;
	int i;

	cr_assert_eq(rl_pacer_init(&pacer, MS(1), MS(10), 4, 1500), 0);
	rl_flow_init(&flow, 0);
	for (i = 0; i < 1000; i++, now += MS(1)) {
		cr_assert_eq(enqueue(&pacer, &flow, now, now + MS(2), i), 0);
		while ((packet = rl_pacer_due(&pacer, now)) != NULL) {
			offset = (size_t)((unsigned char *)packet -
			                  pacer.pool.memory);
			cr_assert_lt(offset, 4 * pacer.pool.stride);
			cr_assert_eq(offset % pacer.pool.stride, 0);
			rl_pacer_release(&pacer, packet);
		}
	}
	while ((packet = rl_pacer_due(&pacer, now + SEC(1))) != NULL)
		rl_pacer_release(&pacer, packet);
	cr_assert_eq(pacer.pool.used, 0);
	cr_assert_eq(pacer.stats.released, 1000);
	rl_pacer_free(&pacer);
}

Test(rl_pool, datagram_bigger_than_a_buffer_is_refused)
{
	struct rl_pacer pacer;
	struct rl_flow flow;
	char big[65];
	struct rl_datagram d = {.data = big, .length = sizeof(big)};

	memset(big, 0, sizeof(big));
	cr_assert_eq(rl_pacer_init(&pacer, MS(1), MS(10), 4, 64), 0);
	rl_flow_init(&flow, 0);
	cr_assert_eq(rl_pacer_enqueue(&pacer, &flow, T0, T0, &d), EMSGSIZE);
	cr_assert_eq(pacer.pool.used, 0);
	cr_assert_eq(pacer.stats.dropped_size, 1);
	rl_pacer_free(&pacer);
}

Test(rl_pool, bad_sizes_are_refused_and_free_of_zeroed_is_a_no_op)
{
	struct rl_pacer pacer;
	struct rl_pool pool;

	cr_assert_eq(rl_pool_init(&pool, 0, 64), EINVAL);
	cr_assert_eq(rl_pool_init(&pool, SIZE_MAX / 2, 64), EINVAL);
	rl_pool_free(&pool);
	cr_assert_eq(rl_pacer_init(&pacer, 0, MS(10), 4, 64), EINVAL);
	cr_assert_eq(rl_pacer_init(&pacer, 1, SEC(1), 4, 64), EINVAL);
	rl_pacer_free(&pacer);
}

/* --- Pacer ---------------------------------------------------------------- */

TestSuite(rl_pacer);

Test(rl_pacer, next_deadline_is_the_start_of_the_first_busy_slot)
{
	struct rl_pacer pacer;
	struct rl_flow flow;
	uint64_t deadline;

	cr_assert_eq(rl_pacer_init(&pacer, MS(1), MS(50), 16, 64), 0);
	rl_flow_init(&flow, 0);
	cr_assert_eq(rl_pacer_next_deadline(&pacer, &deadline), ENOENT);
	cr_assert_eq(enqueue(&pacer, &flow, T0, T0 + US(3500), 1), 0);
	cr_assert_eq(rl_pacer_next_deadline(&pacer, &deadline), 0);
	cr_assert_eq(deadline, T0 + MS(3));
	cr_assert_eq(due_seq(&pacer, T0 + MS(3) - 1), -1);
	cr_assert_eq(due_seq(&pacer, T0 + MS(3)), 1);
	cr_assert_eq(rl_pacer_next_deadline(&pacer, &deadline), ENOENT);
	rl_pacer_free(&pacer);
}

/*
 * 2000 pps offered for 3 s into an allocation limited to 1000 pps, with
 * 50 ms of delay allowed: 1000 pps leave (within one slot's worth and a
 * packet), the rest is dropped, and no packet waits more than 50 ms.
 */
Test(rl_pacer, pacing_delays_a_burst_and_delivers_the_rate)
{
	struct rl_rate rate = rate_of(0, 1000, NO_BURST);
	struct rl_bucket bucket;
	struct rl_levels levels;
	struct rl_pacer pacer;
	struct rl_flow flow;
	struct rl_packet *packet;
	struct payload p;
	struct rl_datagram d;
	uint64_t now, seq = 0, delivered = 0, paced = 0, dropped = 0;
	uint64_t max_seen = 0;

	one_level(&levels, RL_LEVEL_ALLOCATION, &bucket, &rate, false);
	cr_assert_eq(rl_pacer_init(&pacer, MS(1), MS(50), 256, 64), 0);
	rl_flow_init(&flow, 0);
	for (now = T0; now < T0 + SEC(3); now += US(100)) {
		while ((packet = rl_pacer_due(&pacer, now)) != NULL) {
			p = payload_of(packet);
			cr_assert_leq(now - p.arrival, MS(50));
			cr_assert_geq(now + MS(1), packet->departure);
			if (now - p.arrival > max_seen)
				max_seen = now - p.arrival;
			delivered += now >= T0 + SEC(1);
			rl_pacer_release(&pacer, packet);
		}
		if ((now - T0) % US(500) != 0)
			continue;
		p = (struct payload){.seq = seq++, .arrival = now};
		d = datagram_of(&p, sizeof(p));
		switch (rl_pacer_submit(&pacer, &flow, &levels, now, &d)) {
		case RL_SEND:
			delivered += now >= T0 + SEC(1);
			break;
		case RL_PACE:
			paced++;
			break;
		case RL_DROP:
			dropped++;
			break;
		}
	}
	cr_assert(delivered >= 2000 - 2 && delivered <= 2000 + 2,
	          "delivered %llu", (unsigned long long)delivered);
	cr_assert_gt(paced, 2900);
	cr_assert_gt(dropped, 2900);
	cr_assert_geq(max_seen, MS(48));
	rl_pacer_free(&pacer);
}

Test(rl_pacer, delay_beyond_max_delay_drops_and_refunds)
{
	struct rl_rate rate = rate_of(0, 100, NO_BURST);
	struct rl_bucket bucket;
	struct rl_levels levels;
	struct rl_counters counters = {0};
	struct rl_pacer pacer;
	struct rl_flow flow;
	struct payload p = {0};
	struct rl_datagram d = datagram_of(&p, sizeof(p));
	uint64_t tat;
	int i;

	rl_levels_init(&levels);
	rl_bucket_init(&bucket);
	rl_levels_set(&levels, RL_LEVEL_ALLOCATION, &bucket, &rate, &counters,
	              false);
	cr_assert_eq(rl_pacer_init(&pacer, MS(1), MS(50), 64, 64), 0);
	rl_flow_init(&flow, 0);
	cr_assert_eq(rl_pacer_submit(&pacer, &flow, &levels, T0, &d), RL_SEND);
	for (i = 0; i < 5; i++)
		cr_assert_eq(rl_pacer_submit(&pacer, &flow, &levels, T0, &d),
		             RL_PACE);
	tat = tat_of(&bucket, RL_PACKETS);
	cr_assert_eq(rl_pacer_submit(&pacer, &flow, &levels, T0, &d), RL_DROP);
	cr_assert_eq(tat_of(&bucket, RL_PACKETS), tat);
	cr_assert_eq(counters.passed, 6);
	cr_assert_eq(counters.delayed, 5);
	cr_assert_eq(counters.dropped, 1);
	cr_assert_eq(flow.queued_packets, 5);
	rl_pacer_free(&pacer);
}

Test(rl_pacer, flow_bound_drops_and_refunds)
{
	/* 3000 bytes of queue: three 1000-byte packets wait, the fourth is
	 * refused though its delay would be allowed. */
	struct rl_rate rate = rate_of(0, 100, NO_BURST);
	struct rl_bucket bucket;
	struct rl_levels levels;
	struct rl_counters counters = {0};
	struct rl_pacer pacer;
	struct rl_flow flow;
	char data[1000];
	struct rl_datagram d = {.data = data, .length = sizeof(data)};
	uint64_t tat;
	int i;

	memset(data, 'x', sizeof(data));
	rl_levels_init(&levels);
	rl_bucket_init(&bucket);
	rl_levels_set(&levels, RL_LEVEL_ALLOCATION, &bucket, &rate, &counters,
	              false);
	cr_assert_eq(rl_pacer_init(&pacer, MS(1), MS(50), 64, 1500), 0);
	rl_flow_init(&flow, 3000);
	cr_assert_eq(rl_pacer_submit(&pacer, &flow, &levels, T0, &d), RL_SEND);
	for (i = 0; i < 3; i++)
		cr_assert_eq(rl_pacer_submit(&pacer, &flow, &levels, T0, &d),
		             RL_PACE);
	tat = tat_of(&bucket, RL_PACKETS);
	cr_assert_eq(rl_pacer_submit(&pacer, &flow, &levels, T0, &d), RL_DROP);
	cr_assert_eq(tat_of(&bucket, RL_PACKETS), tat);
	cr_assert_eq(levels.level[0].carry[RL_PACKETS], 0);
	cr_assert_eq(pacer.stats.dropped_flow, 1);
	cr_assert_eq(counters.passed, 4);
	cr_assert_eq(counters.delayed, 3);
	cr_assert_eq(flow.queued_bytes, 3000);
	rl_pacer_free(&pacer);
}

Test(rl_pacer, packet_behind_queued_packets_waits_even_if_it_conforms)
{
	struct rl_levels unlimited;
	struct rl_pacer pacer;
	struct rl_flow flow;
	struct payload p = {.seq = 2};
	struct rl_datagram d = datagram_of(&p, sizeof(p));

	rl_levels_init(&unlimited);
	cr_assert_eq(rl_pacer_init(&pacer, MS(1), MS(50), 16, 64), 0);
	rl_flow_init(&flow, 0);
	cr_assert_eq(enqueue(&pacer, &flow, T0, T0 + MS(5), 1), 0);
	cr_assert_eq(rl_pacer_submit(&pacer, &flow, &unlimited, T0 + MS(1), &d),
	             RL_PACE);
	cr_assert_eq(flow.tail->departure, T0 + MS(5));
	cr_assert_eq(due_seq(&pacer, T0 + MS(4)), -1);
	cr_assert_eq(due_seq(&pacer, T0 + MS(5)), 1);
	cr_assert_eq(due_seq(&pacer, T0 + MS(5)), 2);
	/* With nothing queued, a conforming packet is not queued at all. */
	cr_assert_eq(rl_pacer_submit(&pacer, &flow, &unlimited, T0 + MS(6), &d),
	             RL_SEND);
	cr_assert_eq(pacer.stats.queued, 2);
	rl_pacer_free(&pacer);
}

/* Two flows through their own 1000 pps levels and a shared 1500 pps user
 * level, 1200 pps offered each, on a wheel of 7 slots that wraps about
 * 430 times: each flow's packets leave in order and within 5 ms. */
Test(rl_pacer, flow_order_holds_across_the_wheel_wrap)
{
	struct rl_rate alloc_rate = rate_of(0, 1000, NO_BURST);
	struct rl_rate user_rate = rate_of(0, 1500, NO_BURST);
	struct rl_bucket alloc[2], user;
	struct rl_levels levels[2];
	struct rl_flow flows[2];
	struct rl_pacer pacer;
	struct rl_packet *packet;
	struct payload p;
	struct rl_datagram d;
	uint64_t now, next_seq[2] = {0, 0}, last_out[2] = {0, 0};
	uint64_t out[2] = {0, 0};
	bool any_out[2] = {false, false};
	int f;

	rl_bucket_init(&user);
	for (f = 0; f < 2; f++) {
		one_level(&levels[f], RL_LEVEL_ALLOCATION, &alloc[f],
		          &alloc_rate, false);
		rl_levels_set(&levels[f], RL_LEVEL_USER, &user, &user_rate,
		              NULL, true);
		rl_flow_init(&flows[f], 0);
	}
	cr_assert_eq(rl_pacer_init(&pacer, MS(1), MS(5), 64, 64), 0);
	cr_assert_eq(pacer.slot_count, 7);
	for (now = T0; now < T0 + SEC(3); now += US(50)) {
		while ((packet = rl_pacer_due(&pacer, now)) != NULL) {
			p = payload_of(packet);
			f = (int)packet->meta % 2;
			cr_assert(!any_out[f] || p.seq > last_out[f]);
			cr_assert_leq(now - p.arrival, MS(5));
			last_out[f] = p.seq;
			any_out[f] = true;
			out[f]++;
			rl_pacer_release(&pacer, packet);
		}
		for (f = 0; f < 2; f++) {
			if ((now - T0 + US(f * 400)) % US(850) >= US(50))
				continue; /* about 1200 pps each */
			p = (struct payload){.seq = next_seq[f]++ * 2 + f,
			                     .arrival = now};
			d = datagram_of(&p, sizeof(p));
			if (rl_pacer_submit(&pacer, &flows[f], &levels[f], now,
			                    &d) != RL_SEND)
				continue;
			cr_assert(!any_out[f] || p.seq > last_out[f]);
			last_out[f] = p.seq;
			any_out[f] = true;
			out[f]++;
		}
	}
	cr_assert_gt(pacer.stats.released, 1000);
	cr_assert_gt(out[0] + out[1], 4400); /* user level: 1500 pps */
	rl_pacer_free(&pacer);
}

Test(rl_pacer, cancelled_flow_leaves_nothing_and_frees_its_buffers)
{
	struct rl_pacer pacer;
	struct rl_flow a, b;
	int i;

	cr_assert_eq(rl_pacer_init(&pacer, MS(1), MS(50), 16, 64), 0);
	rl_flow_init(&a, 0);
	rl_flow_init(&b, 0);
	for (i = 0; i < 3; i++)
		cr_assert_eq(enqueue(&pacer, &a, T0, T0 + MS(10 * i), 100 + i),
		             0);
	for (i = 0; i < 2; i++)
		cr_assert_eq(enqueue(&pacer, &b, T0, T0 + MS(5 + 10 * i), i),
		             0);
	rl_flow_cancel(&pacer, &a);
	cr_assert_null(a.head);
	cr_assert_eq(a.queued_bytes, 0);
	cr_assert_eq(pacer.stats.cancelled, 3);
	cr_assert_eq(due_seq(&pacer, T0 + MS(60)), 0);
	cr_assert_eq(due_seq(&pacer, T0 + MS(60)), 1);
	cr_assert_eq(due_seq(&pacer, T0 + MS(60)), -1);
	cr_assert_eq(pacer.pool.used, 0);
	rl_pacer_free(&pacer);
}

Test(rl_pacer, late_timer_releases_everything_due_in_order)
{
	struct rl_pacer pacer;
	struct rl_flow flow;
	long long i;

	cr_assert_eq(rl_pacer_init(&pacer, MS(1), MS(50), 64, 64), 0);
	rl_flow_init(&flow, 0);
	for (i = 0; i < 40; i++)
		cr_assert_eq(enqueue(&pacer, &flow, T0,
		                     T0 + US(1250 * (uint64_t)i), (uint64_t)i),
		             0);
	for (i = 0; i < 40; i++)
		cr_assert_eq(due_seq(&pacer, T0 + SEC(10)), i);
	cr_assert_eq(due_seq(&pacer, T0 + SEC(10)), -1);
	cr_assert_eq(pacer.pool.used, 0);
	rl_pacer_free(&pacer);
}

Test(rl_pacer, lagging_wheel_keeps_order_and_counts_early_placement)
{
	/* The timer has not run for a second: a departure past the end of
	 * the wheel goes to its last slot (early) rather than a wrong lap. */
	struct rl_pacer pacer;
	struct rl_flow flow;
	uint64_t deadline;

	cr_assert_eq(rl_pacer_init(&pacer, MS(1), MS(10), 16, 64), 0);
	rl_flow_init(&flow, 0);
	cr_assert_eq(enqueue(&pacer, &flow, T0, T0 + MS(1), 1), 0);
	cr_assert_eq(
	    enqueue(&pacer, &flow, T0 + SEC(1), T0 + SEC(1) + MS(9), 2), 0);
	cr_assert_eq(pacer.stats.early, 1);
	cr_assert_eq(rl_pacer_next_deadline(&pacer, &deadline), 0);
	cr_assert_eq(deadline, T0 + MS(1));
	cr_assert_eq(due_seq(&pacer, T0 + SEC(1)), 1);
	cr_assert_eq(due_seq(&pacer, T0 + SEC(1)), 2);
	rl_pacer_free(&pacer);
}

Test(rl_pacer, packet_never_overtakes_the_one_ahead_of_it)
{
	/* Enqueued directly with an earlier departure than its flow's tail,
	 * it still leaves after the tail. */
	struct rl_pacer pacer;
	struct rl_flow flow;

	cr_assert_eq(rl_pacer_init(&pacer, MS(1), MS(50), 16, 64), 0);
	rl_flow_init(&flow, 0);
	cr_assert_eq(enqueue(&pacer, &flow, T0, T0 + MS(20), 1), 0);
	cr_assert_eq(enqueue(&pacer, &flow, T0, T0 + MS(2), 2), 0);
	cr_assert_eq(due_seq(&pacer, T0 + MS(10)), -1);
	cr_assert_eq(due_seq(&pacer, T0 + MS(20)), 1);
	cr_assert_eq(due_seq(&pacer, T0 + MS(20)), 2);
	rl_pacer_free(&pacer);
}

Test(rl_pool, buffers_never_used_are_handed_out_in_order_then_reused)
{
	struct rl_pool pool;
	struct rl_packet *a, *b, *c;

	cr_assert_eq(rl_pool_init(&pool, 3, 64), 0);
	cr_assert_eq(pool.fresh, 0, "nothing touched at init");
	a = rl_pool_take(&pool);
	b = rl_pool_take(&pool);
	cr_assert((unsigned char *)b == (unsigned char *)a + pool.stride);
	rl_pool_give(&pool, a);
	cr_assert_eq(rl_pool_take(&pool), a, "a returned buffer goes first");
	c = rl_pool_take(&pool);
	cr_assert_not_null(c);
	cr_assert_null(rl_pool_take(&pool), "three buffers, three taken");
	cr_assert_eq(pool.used, 3);
	rl_pool_give(&pool, b);
	cr_assert_eq(rl_pool_take(&pool), b);
	rl_pool_free(&pool);
}

/* A prefix (where to send the packet) is stored in front of the data and
 * counts against the buffer and the flow's bound, but not the rate. */
Test(rl_pacer, prefix_is_stored_before_the_data_and_not_charged)
{
	struct rl_pacer pacer;
	struct rl_flow flow;
	struct rl_levels levels;
	struct rl_bucket bucket;
	struct rl_rate rate;
	struct rl_rate_spec spec = {.bytes_per_second = 1000,
	                            .burst_ns = MS(1)};
	const char prefix[] = "PEER", data[] = "0123456789";
	struct rl_datagram d = {
	    .prefix = prefix,
	    .prefix_length = 4,
	    .data = data,
	    .length = 10,
	    .meta = 7,
	};
	struct rl_packet *packet;

	cr_assert_eq(rl_rate_init(&rate, &spec), 0);
	rl_bucket_init(&bucket);
	rl_levels_init(&levels);
	rl_levels_set(&levels, RL_LEVEL_ALLOCATION, &bucket, &rate, NULL,
	              false);
	cr_assert_eq(rl_pacer_init(&pacer, MS(1), MS(100), 4, 14), 0);
	rl_flow_init(&flow, 0);
	/* 10 bytes at 1000 B/s cost 10 ms: the first leaves at once, the
	 * second is paced to 10 ms less the 1 ms burst (had the 14 stored
	 * bytes been charged, 13 ms). */
	cr_assert_eq(rl_pacer_submit(&pacer, &flow, &levels, T0, &d), RL_SEND);
	cr_assert_eq(rl_pacer_submit(&pacer, &flow, &levels, T0, &d), RL_PACE);
	cr_assert_eq(flow.tail->departure, T0 + MS(9));
	cr_assert_eq(flow.queued_bytes, 14);
	packet = rl_pacer_due(&pacer, T0 + MS(10));
	cr_assert_not_null(packet);
	cr_assert_eq(packet->length, 14);
	cr_assert_eq(memcmp(packet->data, "PEER0123456789", 14), 0);
	cr_assert_eq(packet->meta, 7);
	rl_pacer_release(&pacer, packet);
	d.prefix_length = 5; /* 15 bytes: more than a buffer */
	cr_assert_eq(rl_pacer_enqueue(&pacer, &flow, T0, T0, &d), EMSGSIZE);
	rl_pacer_free(&pacer);
}

/*
 * Issue 6: a burst at twice the rate for 1 s (2000 pps of 16 bytes against
 * 1000 pps), then silence. Pacing delivers the limit within 1%, delays no
 * packet beyond max-delay and drops only what the queue bound cannot
 * hold; drop, offered the same, loses about half.
 */
struct burst_outcome {
	uint64_t delivered, dropped, max_delay_seen, last_departure;
};

static void burst_delivered(struct burst_outcome *out, uint64_t arrival,
                            uint64_t now)
{
	if (now - arrival > out->max_delay_seen)
		out->max_delay_seen = now - arrival;
	out->last_departure = now;
	out->delivered++;
}

static struct burst_outcome burst_of_twice_the_rate(uint64_t max_delay,
                                                    uint64_t bound_bytes)
{
	struct rl_rate rate = rate_of(0, 1000, MS(5));
	struct rl_bucket bucket;
	struct rl_levels levels;
	struct rl_pacer pacer;
	struct rl_flow flow;
	struct rl_packet *packet;
	struct burst_outcome out = {0, 0, 0, 0};
	uint64_t now, seq = 0;

	one_level(&levels, RL_LEVEL_ALLOCATION, &bucket, &rate, false);
	if (max_delay > 0)
		cr_assert_eq(rl_pacer_init(&pacer, US(100), max_delay, 4096,
		                           sizeof(struct payload)),
		             0);
	rl_flow_init(&flow, bound_bytes);
	for (now = T0; now < T0 + SEC(3); now += US(50)) {
		while (max_delay > 0 &&
		       (packet = rl_pacer_due(&pacer, now)) != NULL) {
			burst_delivered(&out, payload_of(packet).arrival, now);
			rl_pacer_release(&pacer, packet);
		}
		if (now >= T0 + SEC(1) || (now - T0) % US(500) != 0)
			continue;
		struct payload p = {.seq = seq++, .arrival = now};
		struct rl_datagram d = datagram_of(&p, sizeof(p));
		enum rl_verdict v =
		    max_delay > 0
		        ? rl_pacer_submit(&pacer, &flow, &levels, now, &d)
		        : admit(&levels, now, sizeof(p), 0, NULL);

		if (v == RL_SEND)
			burst_delivered(&out, now, now);
		out.dropped += v == RL_DROP;
	}
	if (max_delay > 0)
		rl_pacer_free(&pacer);
	return out;
}

/* Packets per second over the delivery, the 5 ms burst aside. */
static double delivered_rate(const struct burst_outcome *o)
{
	return (double)(o->delivered - 5) * 1e9 /
	       (double)(o->last_departure - T0);
}

Test(rl_pacer, twice_the_rate_for_a_second_paced_delivers_the_limit)
{
	/* max-delay 1 s holds the whole excess: nothing is lost, and the
	 * 2000 packets leave at 1000 pps. */
	struct burst_outcome paced = burst_of_twice_the_rate(SEC(1), 0);
	/* A queue bound of 100 packets: what exceeds it is dropped; what
	 * passes still leaves at the rate and waits at most 100 ms. */
	struct burst_outcome bounded =
	    burst_of_twice_the_rate(SEC(1), 100 * sizeof(struct payload));
	struct burst_outcome dropped = burst_of_twice_the_rate(0, 0);

	cr_assert_eq(paced.dropped, 0);
	cr_assert_eq(paced.delivered, 2000);
	cr_assert_leq(paced.max_delay_seen, SEC(1));
	cr_assert(delivered_rate(&paced) >= 990 &&
	              delivered_rate(&paced) <= 1010,
	          "paced at %.1f pps", delivered_rate(&paced));
	cr_assert_eq(bounded.delivered + bounded.dropped, 2000);
	cr_assert(bounded.delivered >= 1095 && bounded.delivered <= 1110,
	          "bounded delivered %llu",
	          (unsigned long long)bounded.delivered);
	cr_assert_leq(bounded.max_delay_seen, MS(101));
	cr_assert(delivered_rate(&bounded) >= 990 &&
	              delivered_rate(&bounded) <= 1010,
	          "bounded at %.1f pps", delivered_rate(&bounded));
	/* drop: about half of the 2000 offered are lost. */
	cr_assert(dropped.dropped >= 990 && dropped.dropped <= 1000,
	          "drop lost %llu", (unsigned long long)dropped.dropped);
}
