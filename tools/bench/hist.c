/*
 * Latency histogram: log-linear buckets (HdrHistogram's idea), so that a
 * run of millions of samples takes a fixed 30 KiB and no allocation, and
 * every quantile is within 1/64 of the true value.
 */
#include "config.h"

#include <string.h>

#include "bench.h"

/* Values below HIST_SUB have a bucket each; above, each power of two is
 * cut into HIST_SUB buckets. */
static unsigned bucket_of(uint64_t value)
{
	unsigned exponent;

	if (value < HIST_SUB)
		return (unsigned)value;
	exponent = 63u - (unsigned)__builtin_clzll(value);
	return (exponent - HIST_SUB_BITS + 1) * HIST_SUB +
	       (unsigned)((value >> (exponent - HIST_SUB_BITS)) &
	                  (HIST_SUB - 1));
}

/* The middle of a bucket. */
static uint64_t value_of(unsigned bucket)
{
	unsigned exponent, sub;
	uint64_t low, width;

	if (bucket < HIST_SUB)
		return bucket;
	exponent = bucket / HIST_SUB + HIST_SUB_BITS - 1;
	sub = bucket % HIST_SUB;
	width = (uint64_t)1 << (exponent - HIST_SUB_BITS);
	low = ((uint64_t)HIST_SUB + sub) << (exponent - HIST_SUB_BITS);
	return low + width / 2;
}

void hist_add(struct hist *h, uint64_t value)
{
	h->counts[bucket_of(value)]++;
	h->total++;
	if (value > h->max)
		h->max = value;
}

void hist_merge(struct hist *into, const struct hist *from)
{
	unsigned i;

	for (i = 0; i < HIST_BUCKETS; i++)
		into->counts[i] += from->counts[i];
	into->total += from->total;
	if (from->max > into->max)
		into->max = from->max;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
	uint64_t rank, seen = 0;
	unsigned i;

	if (h->total == 0)
		return 0;
	rank = (uint64_t)(q * (double)h->total + 0.5);
	if (rank < 1)
		rank = 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->counts[i];
		if (seen >= rank) {
			uint64_t v = value_of(i);

			return v < h->max ? v : h->max;
		}
	}
	return h->max;
}
