/*
 * conf: the rate limits and pacing (the -rate, -pps and -burst keys of
 * each level, rate-policy, max-delay, pace-slot), socket buffers and
 * queues.
 */
#include <stdint.h>
#include <stdio.h>

#include <criterion/criterion.h>

#include "turnpike/conf.h"
#include "test_conf.h"

/* --- rates -------------------------------------------------------------- */

static uint64_t rate_of(const char *value)
{
	struct conf *conf = parse_key("allocation-rate", value);
	uint64_t rate = conf->allocation_rate.bytes_per_second;

	conf_free(conf);
	return rate;
}

Test(conf, rate_bits_are_stored_as_bytes_per_second)
{
	cr_assert_eq(rate_of("2Mbit"), 250000);
	cr_assert_eq(rate_of("1Gbit"), 125000000);
	cr_assert_eq(rate_of("1kbit"), 125);
	cr_assert_eq(rate_of("100Gbit"), 12500000000ULL);
	cr_assert_eq(rate_of("1.5Mbit"), 187500);
	cr_assert_eq(rate_of("2 Mbit"), 250000);
	cr_assert_eq(rate_of("2Mbps"), 250000);
	cr_assert_eq(rate_of("2Mbit/s"), 250000);
	cr_assert_eq(rate_of("8000bit"), 1000);
}

Test(conf, rate_in_bits_not_divisible_by_8_is_rounded_down)
{
	cr_assert_eq(rate_of("1001bit"), 125);
	cr_assert_eq(rate_of("1.000001Mbit"), 125000);
}

Test(conf, rate_bytes_are_decimal)
{
	cr_assert_eq(rate_of("10kB"), 10000);
	cr_assert_eq(rate_of("12.5MB"), 12500000);
	cr_assert_eq(rate_of("1GB/s"), 1000000000);
	cr_assert_eq(rate_of("125B"), 125);
}

Test(conf, rate_0_is_unlimited)
{
	cr_assert_eq(rate_of("0"), 0);
	cr_assert_eq(rate_of("0Mbit"), 0);
}

Test(conf, rate_with_a_fraction_of_a_byte_is_refused)
{
	assert_error("allocation-rate = 1000.5B\n",
	             "t.conf:1: allocation-rate '1000.5B': not a whole number "
	             "of bytes per second");
}

Test(conf, rate_rejects_missing_units_range_and_overflow)
{
	static const char *const bad[] = {
	    "2",
	    "2Mb",
	    "2 Mbits",
	    "2mbit",
	    "101Gbit",
	    "999bit",
	    "7bit",
	    "124B",
	    "-1Mbit",
	    "1e6bit",
	    "99999999999999999999Gbit",
	    "18446744073709551615Gbit",
	    "1.0000000001Gbit",
	    "Mbit",
	    ".5Mbit",
	    "1.Mbit",
	    "1KiB",
	    NULL,
	};

	assert_bad_values("allocation-rate", bad);
	assert_bad_values("user-rate", bad);
	assert_bad_values("total-rate", bad);
}

Test(conf, rate_levels_are_separate)
{
	struct conf *conf = parse_ok("allocation-rate = 2Mbit\n"
	                             "user-rate = 10Mbit\n"
	                             "total-rate = 1Gbit\n"
	                             "allocation-pps = 500\n"
	                             "user-pps = 2000\n"
	                             "total-pps = 300000\n");

	cr_assert_eq(conf->allocation_rate.bytes_per_second, 250000);
	cr_assert_eq(conf->user_rate.bytes_per_second, 1250000);
	cr_assert_eq(conf->total_rate.bytes_per_second, 125000000);
	cr_assert_eq(conf->allocation_rate.packets_per_second, 500);
	cr_assert_eq(conf->user_rate.packets_per_second, 2000);
	cr_assert_eq(conf->total_rate.packets_per_second, 300000);
	conf_free(conf);
}

/* Every key of the three levels parses into its own level and rejects
 * what its setter rejects (the keys come from one table macro, so a slip
 * there would show here, not in the level-specific tests). */
Test(conf, every_rate_key_of_every_level_parses_and_rejects)
{
	static const char *const levels[] = {"allocation", "user", "total"};
	static const char *const bad_rate[] = {"2M", "1bit", "200Gbit", NULL};
	static const char *const bad_pps[] = {"1.5", "-1", NULL};
	static const char *const bad_burst[] = {"20", "2s", "0ms", NULL};
	char key[32], text[256];

	for (size_t i = 0; i < 3; i++) {
		struct conf *conf;
		const struct conf_rate *rates[3];

		snprintf(text, sizeof(text),
		         "%s-rate = 8Mbit\n%s-pps = 700\n%s-burst = 5ms\n",
		         levels[i], levels[i], levels[i]);
		conf = parse_ok(text);
		rates[0] = &conf->allocation_rate;
		rates[1] = &conf->user_rate;
		rates[2] = &conf->total_rate;
		for (size_t j = 0; j < 3; j++) {
			cr_assert_eq(rates[j]->bytes_per_second,
			             i == j ? 1000000 : 0, "%s", text);
			cr_assert_eq(rates[j]->packets_per_second,
			             i == j ? 700 : 0, "%s", text);
		}
		cr_assert_eq(rates[i]->burst_ns, 5000000);
		conf_free(conf);
		snprintf(key, sizeof(key), "%s-rate", levels[i]);
		assert_bad_values(key, bad_rate);
		snprintf(key, sizeof(key), "%s-pps", levels[i]);
		assert_bad_values(key, bad_pps);
		snprintf(key, sizeof(key), "%s-burst", levels[i]);
		assert_bad_values(key, bad_burst);
	}
}

/* RFC 8656 §12 narrowed the range; coturn's client still uses RFC 5766's. */
Test(conf, channel_numbers_is_rfc8656_or_rfc5766)
{
	static const char *const bad[] = {"5766", "RFC5766", "rfc3489", NULL};
	struct conf *conf = parse_ok("");

	cr_assert(!conf->rfc5766_channels, "rfc8656 is the default");
	conf_free(conf);
	conf = parse_key("channel-numbers", "rfc5766");
	cr_assert(conf->rfc5766_channels);
	conf_free(conf);
	conf = parse_key("channel-numbers", "rfc8656");
	cr_assert(!conf->rfc5766_channels);
	conf_free(conf);
	assert_bad_values("channel-numbers", bad);
}

Test(conf, pps_is_a_plain_integer)
{
	static const char *const bad[] = {
	    "1.5", "10k", "1000000001", "-1", "100pps", NULL,
	};
	struct conf *conf = parse_key("user-pps", "0");

	cr_assert_eq(conf->user_rate.packets_per_second, 0);
	conf_free(conf);
	conf = parse_key("total-pps", "1000000000");
	cr_assert_eq(conf->total_rate.packets_per_second, 1000000000);
	conf_free(conf);
	assert_bad_values("allocation-pps", bad);
	assert_bad_values("user-pps", bad);
	assert_bad_values("total-pps", bad);
}

Test(conf, burst_as_a_time)
{
	struct conf *conf = parse_ok("allocation-burst = 20ms\n"
	                             "user-burst = 1s\n"
	                             "total-burst = 500us\n");

	cr_assert_eq(conf->allocation_rate.burst_ns, 20000000);
	cr_assert_eq(conf->allocation_rate.burst_bytes, 0);
	cr_assert_eq(conf->user_rate.burst_ns, 1000000000);
	cr_assert_eq(conf->total_rate.burst_ns, 500000);
	conf_free(conf);
}

Test(conf, burst_as_a_size_also_gives_its_time_at_the_rate)
{
	struct conf *conf = parse_ok("allocation-rate = 2Mbit\n"
	                             "allocation-burst = 25kB\n"
	                             "user-rate = 1MB\n"
	                             "user-burst = 64KiB\n");

	cr_assert_eq(conf->allocation_rate.burst_bytes, 25000);
	cr_assert_eq(conf->allocation_rate.burst_ns, 100000000);
	cr_assert_eq(conf->user_rate.burst_bytes, 65536);
	cr_assert_eq(conf->user_rate.burst_ns, 65536000);
	conf_free(conf);
}

Test(conf, burst_size_above_one_second_of_rate_is_an_error)
{
	assert_error(
	    "allocation-rate = 1Mbit\nallocation-burst = 200kB\n",
	    "t.conf:2: allocation-burst: 200000 bytes is more than one "
	    "second of allocation-rate (125000 bytes)");
}

Test(conf, burst_size_needs_a_byte_rate_when_packets_are_limited)
{
	assert_error(
	    "user-pps = 1000\nuser-burst = 64kB\n",
	    "t.conf:2: user-burst: a size needs user-rate; give a time "
	    "to bound user-pps");
}

Test(conf, burst_rejects_bare_numbers_and_out_of_range)
{
	static const char *const bad[] = {
	    "64",         "0ms",  "0B",   "1001ms", "2s", "1m",
	    "20 parsecs", "13GB", "-1ms", "1.5B",   NULL,
	};

	assert_bad_values("allocation-burst", bad);
	assert_bad_values("user-burst", bad);
	assert_bad_values("total-burst", bad);
}

Test(conf, rate_policy_is_pace_or_drop)
{
	struct conf *conf = parse_key("rate-policy", "drop");

	cr_assert_eq(conf->rate_policy, CONF_RATE_DROP);
	conf_free(conf);
	conf = parse_key("rate-policy", "pace");
	cr_assert_eq(conf->rate_policy, CONF_RATE_PACE);
	conf_free(conf);
	assert_bad("rate-policy", "delay");
	assert_bad("rate-policy", "Pace");
}

/* --- times -------------------------------------------------------------- */

static uint64_t max_delay_of(const char *value)
{
	struct conf *conf = parse_key("max-delay", value);
	uint64_t ns = conf->max_delay_ns;

	conf_free(conf);
	return ns;
}

Test(conf, max_delay_takes_ns_us_ms_s)
{
	cr_assert_eq(max_delay_of("50ms"), 50000000);
	cr_assert_eq(max_delay_of("250us"), 250000);
	cr_assert_eq(max_delay_of("1500ns"), 1500);
	cr_assert_eq(max_delay_of("1s"), 1000000000);
	cr_assert_eq(max_delay_of("0.5s"), 500000000);
	cr_assert_eq(max_delay_of("0"), 0);
}

Test(conf, max_delay_is_at_most_one_second_with_a_unit)
{
	static const char *const bad[] = {
	    "2s", "1001ms", "50", "1.5ns", "5 parsecs", "1m", "-1ms", NULL,
	};

	assert_bad_values("max-delay", bad);
}

Test(conf, pace_slot_is_1us_to_10ms_and_fits_max_delay)
{
	static const char *const bad[] = {"0", "500ns", "20ms", "100", NULL};
	struct conf *conf = parse_key("pace-slot", "100us");

	cr_assert_eq(conf->pace_slot_ns, 100000);
	conf_free(conf);
	assert_bad_values("pace-slot", bad);
	assert_error("pace-slot = 5ms\nmax-delay = 2ms\n",
	             "t.conf:1: pace-slot is longer than max-delay");
	assert_error("max-delay = 2ms\npace-slot = 5ms\n",
	             "t.conf:2: pace-slot is longer than max-delay");
}

Test(conf, default_pace_slot_shrinks_to_a_short_max_delay)
{
	struct conf *conf = parse_key("max-delay", "500us");

	cr_assert_eq(conf->pace_slot_ns, 500000);
	conf_free(conf);
	conf = parse_key("max-delay", "0");
	cr_assert_eq(conf->pace_slot_ns, 1000000);
	conf_free(conf);
}

/* --- socket buffers ------------------------------------------------------ */

Test(conf, buffers_take_binary_and_decimal_units)
{
	struct conf *conf = parse_ok("listener-rcvbuf = 4MiB\n"
	                             "listener-sndbuf = 8M\n"
	                             "allocation-rcvbuf = 256k\n"
	                             "allocation-sndbuf = 1MB\n");

	cr_assert_eq(conf->listener_rcvbuf, 4194304);
	cr_assert_eq(conf->listener_sndbuf, 8388608);
	cr_assert_eq(conf->allocation_rcvbuf, 262144);
	cr_assert_eq(conf->allocation_sndbuf, 1000000);
	conf_free(conf);
	conf =
	    parse_ok("listener-rcvbuf = 0\nallocation-sndbuf = 4096\n"
	             "allocation-rcvbuf = 64KiB\nlistener-sndbuf = 512MiB\n");
	cr_assert_eq(conf->listener_rcvbuf, 0);
	cr_assert_eq(conf->allocation_sndbuf, 4096);
	cr_assert_eq(conf->allocation_rcvbuf, 65536);
	cr_assert_eq(conf->listener_sndbuf, 512 * 1024 * 1024);
	conf_free(conf);
}

Test(conf, buffers_reject_bad_sizes)
{
	static const char *const bad[] = {
	    "1GiB", "100",  "4095",   "4Mbit", "1.5B",
	    "-1",   "lots", "4 MB/s", NULL,
	};

	assert_bad_values("listener-rcvbuf", bad);
	assert_bad_values("listener-sndbuf", bad);
	assert_bad_values("allocation-rcvbuf", bad);
	assert_bad_values("allocation-sndbuf", bad);
}

/* --- queues ------------------------------------------------------------ */

Test(conf, allocation_queue_is_a_size_from_4k_to_64m)
{
	static const char *const bad[] = {"0", "1KiB", "65MiB", "abc", NULL};
	struct conf *conf = parse_key("allocation-queue", "64KiB");

	cr_assert_eq(conf->allocation_queue, 65536);
	conf_free(conf);
	conf = parse_key("realm", "x");
	cr_assert_eq(conf->allocation_queue, 256 * 1024, "the default");
	cr_assert_eq(conf->pace_buffers, 8192, "the default");
	conf_free(conf);
	assert_bad_values("allocation-queue", bad);
}

Test(conf, pace_buffers_is_16_to_a_million)
{
	static const char *const bad[] = {"0", "15", "1048577", "4k", NULL};
	struct conf *conf = parse_key("pace-buffers", "16384");

	cr_assert_eq(conf->pace_buffers, 16384);
	conf_free(conf);
	assert_bad_values("pace-buffers", bad);
}
