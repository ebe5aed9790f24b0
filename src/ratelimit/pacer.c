/*
 * The pacer: a Carousel timing wheel (Saeed et al., SIGCOMM 2017). Slots
 * are numbered by absolute time (departure / slot_ns); slot n sits in ring
 * position n % slot_count. The wheel spans max_delay plus two slots, and
 * every packet's departure lies within max_delay of the clock, so a packet
 * never waits for a later lap and no slot mixes two laps.
 *
 * Invariants: every waiting packet sits in a slot numbered current to
 * current + slot_count - 1; slots before `current` are released; the slot
 * `current` is open once the clock reaches it, and a packet whose slot has
 * already opened joins the open slot (it is due at once). A bit per ring
 * position says whether the slot holds packets, so finding the next one
 * skips empty slots a word at a time.
 *
 * Order: a flow's packets are given non-decreasing departures (never
 * before the one ahead of it), so non-decreasing slots, and a slot is a
 * FIFO: they leave in the order they came, across the ring's wrap too.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/ratelimit.h"

#define RL_PACER_MAX_SLOTS (1u << 24)

int rl_pacer_init(struct rl_pacer *pacer, uint64_t slot_ns,
                  uint64_t max_delay_ns, size_t pool_packets,
                  size_t packet_size)
{
	int rc;

	memset(pacer, 0, sizeof(*pacer));
	if (slot_ns == 0 || max_delay_ns == 0 ||
	    max_delay_ns / slot_ns > RL_PACER_MAX_SLOTS)
		return EINVAL;
	pacer->slot_ns = slot_ns;
	pacer->max_delay_ns = max_delay_ns;
	pacer->slot_count = (size_t)(max_delay_ns / slot_ns) + 2;
	pacer->slots = calloc(pacer->slot_count, sizeof(*pacer->slots));
	pacer->occupied =
	    calloc((pacer->slot_count + 63) / 64, sizeof(*pacer->occupied));
	if (pacer->slots == NULL || pacer->occupied == NULL) {
		rc = ENOMEM;
		goto fail;
	}
	if ((rc = rl_pool_init(&pacer->pool, pool_packets, packet_size)) != 0)
		goto fail;
	return 0;
fail:
	rl_pacer_free(pacer);
	return rc;
}

void rl_pacer_free(struct rl_pacer *pacer)
{
	free(pacer->slots);
	free(pacer->occupied);
	rl_pool_free(&pacer->pool);
	memset(pacer, 0, sizeof(*pacer));
}

void rl_flow_init(struct rl_flow *flow, uint64_t bound_bytes)
{
	memset(flow, 0, sizeof(*flow));
	flow->bound_bytes = bound_bytes;
}

uint64_t rl_flow_not_before(const struct rl_flow *flow)
{
	return flow->tail != NULL ? flow->tail->departure : 0;
}

/* --- Slots ------------------------------------------------------------- */

static void rl_bit_set(uint64_t *bits, size_t i, bool on)
{
	if (on)
		bits[i / 64] |= 1ULL << (i % 64);
	else
		bits[i / 64] &= ~(1ULL << (i % 64));
}

/* The first set bit in [from, to), or `to`. */
static size_t rl_bit_next(const uint64_t *bits, size_t from, size_t to)
{
	while (from < to) {
		uint64_t word = bits[from / 64] >> (from % 64);

		if (word != 0) {
			from += (size_t)__builtin_ctzll(word);
			return from < to ? from : to;
		}
		from = (from / 64 + 1) * 64;
	}
	return to;
}

/* The number of the first slot holding a packet; pacer->waiting > 0. */
static uint64_t rl_pacer_first(const struct rl_pacer *pacer)
{
	size_t n = pacer->slot_count;
	size_t start = (size_t)(pacer->current % n);
	size_t i = rl_bit_next(pacer->occupied, start, n);

	if (i < n)
		return pacer->current + (i - start);
	i = rl_bit_next(pacer->occupied, 0, start);
	return pacer->current + (n - start) + i;
}

static void rl_slot_append(struct rl_pacer *pacer, uint64_t number,
                           struct rl_packet *packet)
{
	size_t i = (size_t)(number % pacer->slot_count);
	struct rl_pacer_slot *slot = &pacer->slots[i];

	packet->next = NULL;
	if (slot->tail != NULL)
		slot->tail->next = packet;
	else
		slot->head = packet;
	slot->tail = packet;
	rl_bit_set(pacer->occupied, i, true);
}

static struct rl_packet *rl_slot_pop(struct rl_pacer *pacer, uint64_t number)
{
	size_t i = (size_t)(number % pacer->slot_count);
	struct rl_pacer_slot *slot = &pacer->slots[i];
	struct rl_packet *packet = slot->head;

	slot->head = packet->next;
	if (slot->head == NULL) {
		slot->tail = NULL;
		rl_bit_set(pacer->occupied, i, false);
	}
	packet->next = NULL;
	return packet;
}

/* The slot for a departure, within the wheel. */
static uint64_t rl_pacer_place(struct rl_pacer *pacer, uint64_t departure)
{
	uint64_t number = departure / pacer->slot_ns;
	uint64_t last = pacer->current + pacer->slot_count - 1;

	if (number < pacer->current)
		return pacer->current;
	if (number > last) {
		/* Only when the timer ran late and the wheel lags the clock:
		 * leave early rather than in the wrong lap. */
		pacer->stats.early++;
		return last;
	}
	return number;
}

/* --- Flows ------------------------------------------------------------- */

static void rl_flow_append(struct rl_flow *flow, struct rl_packet *packet)
{
	packet->flow = flow;
	packet->flow_next = NULL;
	if (flow->tail != NULL)
		flow->tail->flow_next = packet;
	else
		flow->head = packet;
	flow->tail = packet;
	flow->queued_bytes += packet->length;
	flow->queued_packets++;
}

/* Takes a released packet off its flow: always the head (see above). */
static void rl_flow_remove_head(struct rl_flow *flow, struct rl_packet *packet)
{
	flow->head = packet->flow_next;
	if (flow->head == NULL)
		flow->tail = NULL;
	flow->queued_bytes -= packet->length;
	flow->queued_packets--;
	packet->flow_next = NULL;
}

void rl_flow_cancel(struct rl_pacer *pacer, struct rl_flow *flow)
{
	struct rl_packet *packet;

	for (packet = flow->head; packet != NULL; packet = packet->flow_next) {
		packet->flow = NULL; /* freed when its slot comes */
		pacer->stats.cancelled++;
	}
	flow->head = NULL;
	flow->tail = NULL;
	flow->queued_bytes = 0;
	flow->queued_packets = 0;
}

/* --- The wheel --------------------------------------------------------- */

int rl_pacer_enqueue(struct rl_pacer *pacer, struct rl_flow *flow, uint64_t now,
                     uint64_t departure, const struct rl_datagram *datagram)
{
	struct rl_packet *packet;
	uint64_t stored = (uint64_t)datagram->prefix_length + datagram->length;

	if (stored > pacer->pool.packet_size) {
		pacer->stats.dropped_size++;
		return EMSGSIZE;
	}
	if (flow->bound_bytes != 0 &&
	    flow->queued_bytes + stored > flow->bound_bytes) {
		pacer->stats.dropped_flow++;
		return ENOBUFS;
	}
	if ((packet = rl_pool_take(&pacer->pool)) == NULL) {
		pacer->stats.dropped_pool++;
		return ENOBUFS;
	}
	if (pacer->waiting == 0 && now / pacer->slot_ns > pacer->current)
		pacer->current = now / pacer->slot_ns;
	if (departure < rl_flow_not_before(flow))
		departure = rl_flow_not_before(flow); /* never overtake */
	packet->departure = departure;
	packet->meta = datagram->meta;
	packet->length = (uint32_t)stored;
	if (datagram->prefix_length > 0)
		memcpy(packet->data, datagram->prefix, datagram->prefix_length);
	memcpy(packet->data + datagram->prefix_length, datagram->data,
	       datagram->length);
	rl_slot_append(pacer, rl_pacer_place(pacer, departure), packet);
	rl_flow_append(flow, packet);
	pacer->waiting++;
	pacer->stats.queued++;
	return 0;
}

enum rl_verdict rl_pacer_submit(struct rl_pacer *pacer, struct rl_flow *flow,
                                struct rl_levels *levels, uint64_t now,
                                const struct rl_datagram *datagram)
{
	struct rl_request request = {
	    .now = now,
	    .not_before = rl_flow_not_before(flow),
	    .max_delay = pacer->max_delay_ns,
	    .bytes = datagram->length,
	};
	struct rl_ticket ticket;
	enum rl_verdict verdict = rl_admit_uncounted(levels, &request, &ticket);

	if (verdict == RL_DROP)
		return verdict;
	if (verdict == RL_SEND && flow->head == NULL) {
		rl_count_admitted(levels, &ticket);
		return verdict;
	}
	/* RL_PACE, or conforming behind packets still queued: counted only
	 * once it is queued, so that no counter ever steps back. */
	if (rl_pacer_enqueue(pacer, flow, now, ticket.departure, datagram) !=
	    0) {
		rl_refund_uncounted(levels, &ticket);
		return RL_DROP;
	}
	rl_count_admitted(levels, &ticket);
	return RL_PACE;
}

struct rl_packet *rl_pacer_due(struct rl_pacer *pacer, uint64_t now)
{
	uint64_t open = now / pacer->slot_ns;
	uint64_t first;
	struct rl_packet *packet;

	for (;;) {
		if (pacer->waiting == 0) {
			if (open > pacer->current)
				pacer->current = open;
			return NULL;
		}
		first = rl_pacer_first(pacer);
		if (first > open) {
			if (open > pacer->current)
				pacer->current = open;
			return NULL;
		}
		pacer->current = first;
		packet = rl_slot_pop(pacer, first);
		pacer->waiting--;
		if (packet->flow == NULL) { /* its flow was cancelled */
			rl_pool_give(&pacer->pool, packet);
			continue;
		}
		rl_flow_remove_head(packet->flow, packet);
		pacer->stats.released++;
		return packet;
	}
}

void rl_pacer_release(struct rl_pacer *pacer, struct rl_packet *packet)
{
	rl_pool_give(&pacer->pool, packet);
}

int rl_pacer_next_deadline(const struct rl_pacer *pacer, uint64_t *deadline)
{
	if (pacer->waiting == 0)
		return ENOENT;
	*deadline = rl_pacer_first(pacer) * pacer->slot_ns;
	return 0;
}
