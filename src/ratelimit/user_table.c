/*
 * The table of user buckets in shared memory, shared by every worker
 * without a lock.
 *
 * A slot's key word says what the slot is:
 *   0                 empty: never used; ends every probe sequence
 *   1                 free: was claimed by a worker that died mid-claim
 *   2 + w             claimed by worker w, for a few instructions
 *   hash | 2^63       the user with that hash
 * and its worker bits say which workers hold references to it. A user's
 * slot with no bit set is free for another user to take over; until then
 * the same user finds it again, TAT and all.
 *
 * Joining a slot (first reference of a worker) and taking it over race as
 * in Dekker's algorithm, all sequentially consistent: the joiner sets its
 * bit and then rereads the key; the taker swaps the key for its claim and
 * then rereads the bits. One of them sees the other and backs off.
 *
 * A new user's slot is the first slot of his probe window that is empty
 * or unreferenced (a claim in progress is waited for, so two workers
 * adding the same user do not both pass it by). After taking a slot a
 * worker looks once more, before it in the window, for a slot of the same
 * user that another worker made meanwhile, and moves there.
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit_private.h"

#define RL_USER_MAGIC    0x726c7573657273ULL /* "rlusers" */
#define RL_KEY_EMPTY     0ULL
#define RL_KEY_FREE      1ULL
#define RL_KEY_CLAIM(w)  (2ULL + (w))
#define RL_KEY_USER      (1ULL << 63)
#define RL_CLAIM_SPINS   20000
#define RL_CLAIM_YIELD   64
#define RL_ACQUIRE_TRIES 1000
#define RL_WORKER_WORDS  (RL_USER_MAX_WORKERS / 64)

static bool rl_key_is_claim(uint64_t key)
{
	return key >= RL_KEY_CLAIM(0) &&
	       key < RL_KEY_CLAIM(RL_USER_MAX_WORKERS);
}

/* --- SipHash-2-4 (Aumasson and Bernstein), for the quota keys ------------ */

static uint64_t rl_load64_le(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

#define RL_ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static void rl_sip_round(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = RL_ROTL(v[1], 13) ^ v[0];
	v[0] = RL_ROTL(v[0], 32);
	v[2] += v[3];
	v[3] = RL_ROTL(v[3], 16) ^ v[2];
	v[0] += v[3];
	v[3] = RL_ROTL(v[3], 21) ^ v[0];
	v[2] += v[1];
	v[1] = RL_ROTL(v[1], 17) ^ v[2];
	v[2] = RL_ROTL(v[2], 32);
}

static void rl_sip_absorb(uint64_t v[4], uint64_t m)
{
	v[3] ^= m;
	rl_sip_round(v);
	rl_sip_round(v);
	v[0] ^= m;
}

static uint64_t rl_siphash(const uint64_t k[2], const uint8_t *in, size_t len)
{
	uint64_t v[4] = {
	    k[0] ^ 0x736f6d6570736575ULL, k[1] ^ 0x646f72616e646f6dULL,
	    k[0] ^ 0x6c7967656e657261ULL, k[1] ^ 0x7465646279746573ULL};
	uint64_t last = (uint64_t)len << 56;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8)
		rl_sip_absorb(v, rl_load64_le(in + i));
	for (; i < len; i++)
		last |= (uint64_t)in[i] << (8 * (i % 8));
	rl_sip_absorb(v, last);
	v[2] ^= 0xff;
	for (i = 0; i < 4; i++)
		rl_sip_round(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

uint64_t rl_user_hash(const struct rl_user_table *table, const void *key,
                      size_t length)
{
	return rl_siphash(table->hash_key, key, length);
}

/* --- The table ------------------------------------------------------------ */

static size_t rl_round_pow2(size_t n)
{
	size_t p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

size_t rl_user_table_size(size_t slot_count)
{
	return sizeof(struct rl_user_table) +
	       rl_round_pow2(slot_count) * sizeof(struct rl_user_slot);
}

int rl_user_table_init(void *region, size_t size, const uint8_t hash_key[16],
                       struct rl_user_table **table)
{
	struct rl_user_table *t = region;
	size_t count;

	*table = NULL;
	if (((uintptr_t)region & 63) != 0 || size < rl_user_table_size(2))
		return EINVAL;
	count = (size - sizeof(*t)) / sizeof(struct rl_user_slot);
	while (count & (count - 1))
		count &= count - 1; /* down to a power of two */
	/* The slots are zero already (the region is zeroed): leaving them
	 * untouched keeps a big table from costing memory until it is used. */
	memset(t, 0, sizeof(*t));
	t->magic = RL_USER_MAGIC;
	t->slot_count = count;
	t->hash_key[0] = rl_load64_le(hash_key);
	t->hash_key[1] = rl_load64_le(hash_key + 8);
	for (unsigned i = 0; i < RL_SERVER_BUCKETS; i++)
		rl_bucket_init(&t->server[i]);
	*table = t;
	return 0;
}

struct rl_bucket *rl_user_table_server(struct rl_user_table *table,
                                       unsigned index)
{
	return index < RL_SERVER_BUCKETS ? &table->server[index] : NULL;
}

static bool rl_slot_unreferenced(struct rl_user_slot *slot)
{
	int i;

	for (i = 0; i < RL_WORKER_WORDS; i++)
		if (atomic_load(&slot->workers[i]) != 0)
			return false;
	return true;
}

void rl_user_table_forget_worker(struct rl_user_table *table, unsigned worker)
{
	uint64_t bit = 1ULL << (worker % 64);
	uint64_t claim = RL_KEY_CLAIM(worker);
	size_t i;

	if (worker >= RL_USER_MAX_WORKERS)
		return;
	for (i = 0; i < table->slot_count; i++) {
		struct rl_user_slot *slot = &table->slots[i];

		atomic_fetch_and(&slot->workers[worker / 64], ~bit);
		/* Died mid-claim: nobody else will finish it. */
		atomic_compare_exchange_strong(&slot->key, &claim, RL_KEY_FREE);
		claim = RL_KEY_CLAIM(worker);
	}
}

/* --- A worker's view ------------------------------------------------------ */

int rl_user_view_init(struct rl_user_view *view, struct rl_user_table *table,
                      unsigned worker)
{
	memset(view, 0, sizeof(*view));
	if (worker >= RL_USER_MAX_WORKERS)
		return EINVAL;
	view->refs = calloc(table->slot_count, sizeof(*view->refs));
	if (view->refs == NULL)
		return ENOMEM;
	view->table = table;
	view->worker = worker;
	return 0;
}

void rl_user_view_free(struct rl_user_view *view)
{
	free(view->refs);
	memset(view, 0, sizeof(*view));
}

static _Atomic uint64_t *rl_view_word(struct rl_user_view *view, size_t index)
{
	return &view->table->slots[index].workers[view->worker / 64];
}

static uint64_t rl_view_bit(const struct rl_user_view *view)
{
	return 1ULL << (view->worker % 64);
}

/* Adds a reference to the slot that held `key` a moment ago; false (and
 * nothing held) when it has been taken over since. */
static bool rl_view_join(struct rl_user_view *view, size_t index, uint64_t key)
{
	if (view->refs[index]++ > 0)
		return true; /* our bit is set: nobody can take it over */
	atomic_fetch_or(rl_view_word(view, index), rl_view_bit(view));
	if (atomic_load(&view->table->slots[index].key) == key)
		return true;
	view->refs[index] = 0;
	atomic_fetch_and(rl_view_word(view, index), ~rl_view_bit(view));
	return false;
}

static void rl_view_leave(struct rl_user_view *view, size_t index)
{
	if (--view->refs[index] == 0)
		atomic_fetch_and(rl_view_word(view, index), ~rl_view_bit(view));
}

/* A slot's key, after waiting (boundedly) for another worker's claim. A
 * claim that outlasts the wait is treated as a slot in use. */
static uint64_t rl_slot_key(struct rl_user_slot *slot)
{
	uint64_t key = atomic_load(&slot->key);
	int spins;

	for (spins = 0; rl_key_is_claim(key) && spins < RL_CLAIM_SPINS;
	     spins++) {
		if (spins >= RL_CLAIM_YIELD)
			sched_yield();
		key = atomic_load(&slot->key);
	}
	return key;
}

/* Claims an empty or unreferenced slot that held `old` for `key`. */
static bool rl_view_take(struct rl_user_view *view, size_t index, uint64_t old,
                         uint64_t key)
{
	struct rl_user_slot *slot = &view->table->slots[index];

	if (!atomic_compare_exchange_strong(&slot->key, &old,
	                                    RL_KEY_CLAIM(view->worker)))
		return false;
	if (!rl_slot_unreferenced(slot)) {
		atomic_store(&slot->key, old); /* its user came back */
		return false;
	}
	if (old != RL_KEY_EMPTY)
		atomic_fetch_add(&view->table->reclaims, 1);
	rl_bucket_init(&slot->bucket);
	view->refs[index] = 1;
	atomic_fetch_or(rl_view_word(view, index), rl_view_bit(view));
	atomic_store(&slot->key, key);
	return true;
}

/* The probe window of a key: `count` slots from `home`. */
struct rl_window {
	size_t home, count, mask;
};

static struct rl_window rl_user_window(const struct rl_user_table *table,
                                       uint64_t key)
{
	struct rl_window w;

	w.mask = table->slot_count - 1;
	w.home = key & w.mask;
	w.count = table->slot_count < RL_USER_PROBES ? table->slot_count
	                                             : RL_USER_PROBES;
	return w;
}

/* One attempt: 0 with *index, ENOSPC, or EAGAIN after losing a race. */
static int rl_user_try(struct rl_user_view *view, uint64_t key, size_t *index)
{
	struct rl_window w = rl_user_window(view->table, key);
	size_t p, i, candidate = SIZE_MAX;
	uint64_t seen, candidate_key = 0;

	for (p = 0; p < w.count; p++) {
		i = (w.home + p) & w.mask;
		seen = rl_slot_key(&view->table->slots[i]);
		if (seen == key) {
			*index = i;
			return rl_view_join(view, i, key) ? 0 : EAGAIN;
		}
		if (candidate == SIZE_MAX && !rl_key_is_claim(seen) &&
		    (seen == RL_KEY_EMPTY ||
		     rl_slot_unreferenced(&view->table->slots[i]))) {
			candidate = i;
			candidate_key = seen;
		}
		if (seen == RL_KEY_EMPTY)
			break; /* the key was never placed past an empty slot */
	}
	if (candidate == SIZE_MAX)
		return ENOSPC;
	*index = candidate;
	return rl_view_take(view, candidate, candidate_key, key) ? 0 : EAGAIN;
}

/* Moves to a slot of the same user before `index` in the window, made by
 * another worker while this one was placing him. */
static size_t rl_user_dedup(struct rl_user_view *view, uint64_t key,
                            size_t index)
{
	struct rl_window w = rl_user_window(view->table, key);
	size_t p, i;

	for (p = 0; p < w.count; p++) {
		i = (w.home + p) & w.mask;
		if (i == index)
			break;
		if (atomic_load(&view->table->slots[i].key) == key &&
		    rl_view_join(view, i, key)) {
			rl_view_leave(view, index);
			return i;
		}
	}
	return index;
}

int rl_user_acquire_hash(struct rl_user_view *view, uint64_t hash,
                         struct rl_bucket **bucket)
{
	uint64_t key = hash | RL_KEY_USER;
	size_t index = 0;
	int tries, rc = EAGAIN;

	for (tries = 0; rc == EAGAIN && tries < RL_ACQUIRE_TRIES; tries++)
		rc = rl_user_try(view, key, &index);
	if (rc != 0) {
		atomic_fetch_add(&view->table->full, 1);
		*bucket = NULL;
		return ENOSPC;
	}
	index = rl_user_dedup(view, key, index);
	*bucket = &view->table->slots[index].bucket;
	return 0;
}

int rl_user_acquire(struct rl_user_view *view, const void *key, size_t length,
                    struct rl_bucket **bucket)
{
	return rl_user_acquire_hash(
	    view, rl_user_hash(view->table, key, length), bucket);
}

void rl_user_release(struct rl_user_view *view, struct rl_bucket *bucket)
{
	struct rl_user_slot *slot;

	if (bucket == NULL)
		return;
	slot = (struct rl_user_slot *)((char *)bucket -
	                               offsetof(struct rl_user_slot, bucket));
	rl_view_leave(view, (size_t)(slot - view->table->slots));
}
