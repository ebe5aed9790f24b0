/*
 * The master's status snapshot (turnpikectl status and counters): one
 * record under the key "status" of the metadata table, replaced once a
 * second. Fixed
 * widths and byte order as in record.c, and only the workers in use.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_private.h"

#define STATUS_KEY "status"

#define STATUS_WORKER_SIZE                                                     \
	(4 + 4 + 8 + 1 + 6 * 8 + STORE_RATE_LEVELS * 3 * 8 + 8)
#define STATUS_COUNTER_SIZE (2 + (STORE_COUNTER_NAME_MAX - 1) + 8)
#define STATUS_RECORD_MAX                                                      \
	(4 + 5 * 8 + 2 + (STORE_STATUS_PATH_MAX - 1) + 2 +                     \
	 (STORE_STATUS_ERROR_MAX - 1) + 4 +                                    \
	 STORE_STATUS_WORKERS_MAX * STATUS_WORKER_SIZE + 2 +                   \
	 STORE_COUNTERS_MAX * STATUS_COUNTER_SIZE)

/* A bounded cursor over the record; running past the end sets bad, so
 * the codec checks once at the end, and every access is still bounded. */
struct cursor {
	uint8_t *buf;
	size_t size, pos;
	bool bad;
};

static void put_uint(struct cursor *c, uint64_t value, size_t n)
{
	if (c->bad || c->size - c->pos < n) {
		c->bad = true;
		return;
	}
	for (size_t i = 0; i < n; i++)
		c->buf[c->pos++] = (uint8_t)(value >> (8 * (n - 1 - i)));
}

static uint64_t get_uint(struct cursor *c, size_t n)
{
	uint64_t value = 0;

	if (c->bad || c->size - c->pos < n) {
		c->bad = true;
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		value = value << 8 | c->buf[c->pos++];
	return value;
}

/* A string: its length in two bytes, then its bytes without the NUL. */
static void put_string(struct cursor *c, const char *s, size_t size)
{
	size_t len = strnlen(s, size);

	if (len == size || c->bad || c->size - c->pos < 2 + len) {
		c->bad = true;
		return;
	}
	put_uint(c, len, 2);
	memcpy(c->buf + c->pos, s, len);
	c->pos += len;
}

static void get_string(struct cursor *c, char *s, size_t size)
{
	size_t len = (size_t)get_uint(c, 2);

	s[0] = '\0';
	if (c->bad || len >= size || c->size - c->pos < len) {
		c->bad = true;
		return;
	}
	memcpy(s, c->buf + c->pos, len);
	s[len] = '\0';
	c->pos += len;
}

static void put_worker(struct cursor *c, const struct store_status_worker *w)
{
	put_uint(c, w->index, 4);
	put_uint(c, (uint32_t)w->pid, 4);
	put_uint(c, w->generation, 8);
	put_uint(c, w->draining, 1);
	put_uint(c, w->allocations, 8);
	put_uint(c, w->client_packets, 8);
	put_uint(c, w->client_bytes, 8);
	put_uint(c, w->peer_packets, 8);
	put_uint(c, w->peer_bytes, 8);
	put_uint(c, w->drops, 8);
	for (int level = 0; level < STORE_RATE_LEVELS; level++) {
		put_uint(c, w->rate[level].passed, 8);
		put_uint(c, w->rate[level].delayed, 8);
		put_uint(c, w->rate[level].dropped, 8);
	}
	put_uint(c, w->rate_queue_dropped, 8);
}

static void get_worker(struct cursor *c, struct store_status_worker *w)
{
	w->index = (uint32_t)get_uint(c, 4);
	w->pid = (pid_t)get_uint(c, 4);
	w->generation = get_uint(c, 8);
	w->draining = get_uint(c, 1) != 0;
	w->allocations = get_uint(c, 8);
	w->client_packets = get_uint(c, 8);
	w->client_bytes = get_uint(c, 8);
	w->peer_packets = get_uint(c, 8);
	w->peer_bytes = get_uint(c, 8);
	w->drops = get_uint(c, 8);
	for (int level = 0; level < STORE_RATE_LEVELS; level++) {
		w->rate[level].passed = get_uint(c, 8);
		w->rate[level].delayed = get_uint(c, 8);
		w->rate[level].dropped = get_uint(c, 8);
	}
	w->rate_queue_dropped = get_uint(c, 8);
}

static int status_encode(const struct store_status *s, struct cursor *c)
{
	if (s->worker_count > STORE_STATUS_WORKERS_MAX ||
	    s->counter_count > STORE_COUNTERS_MAX)
		return EINVAL;
	put_uint(c, (uint32_t)s->master_pid, 4);
	put_uint(c, s->started, 8);
	put_uint(c, s->time, 8);
	put_uint(c, s->generation, 8);
	put_uint(c, s->reloads, 8);
	put_uint(c, s->last_reload_time, 8);
	put_string(c, s->config_path, sizeof(s->config_path));
	put_string(c, s->last_reload_error, sizeof(s->last_reload_error));
	put_uint(c, s->worker_count, 4);
	for (uint32_t i = 0; i < s->worker_count; i++)
		put_worker(c, &s->workers[i]);
	/* The counters come last, by name: a snapshot without them (a
	 * master from before) still reads. */
	put_uint(c, s->counter_count, 2);
	for (uint32_t i = 0; i < s->counter_count; i++) {
		put_string(c, s->counters[i].name, sizeof(s->counters[i].name));
		put_uint(c, s->counters[i].value, 8);
	}
	/* Last again: a snapshot that ends before it still reads. */
	put_worker(c, &s->exited);
	return c->bad ? EINVAL : 0;
}

static int status_decode(struct cursor *c, struct store_status *s)
{
	memset(s, 0, sizeof(*s));
	s->master_pid = (pid_t)get_uint(c, 4);
	s->started = get_uint(c, 8);
	s->time = get_uint(c, 8);
	s->generation = get_uint(c, 8);
	s->reloads = get_uint(c, 8);
	s->last_reload_time = get_uint(c, 8);
	get_string(c, s->config_path, sizeof(s->config_path));
	get_string(c, s->last_reload_error, sizeof(s->last_reload_error));
	s->worker_count = (uint32_t)get_uint(c, 4);
	if (s->worker_count > STORE_STATUS_WORKERS_MAX)
		return EIO;
	for (uint32_t i = 0; i < s->worker_count; i++)
		get_worker(c, &s->workers[i]);
	if (!c->bad && c->pos == c->size)
		return 0; /* no counters: a master from before */
	s->counter_count = (uint32_t)get_uint(c, 2);
	if (s->counter_count > STORE_COUNTERS_MAX)
		return EIO;
	for (uint32_t i = 0; i < s->counter_count; i++) {
		get_string(c, s->counters[i].name, sizeof(s->counters[i].name));
		s->counters[i].value = get_uint(c, 8);
	}
	if (!c->bad && c->pos == c->size)
		return 0; /* no exited workers' counts: a master from before */
	get_worker(c, &s->exited);
	return c->bad || c->pos != c->size ? EIO : 0;
}

int store_status_put(struct store *store, const struct store_status *status)
{
	struct cursor c = {.size = STATUS_RECORD_MAX};
	MDB_val key = {strlen(STATUS_KEY), STATUS_KEY}, value;
	MDB_txn *txn;
	int err;

	if ((c.buf = malloc(c.size)) == NULL)
		return ENOMEM;
	/* Encoded before the transaction: the write lock is held no longer
	 * than the put. */
	if ((err = status_encode(status, &c)) != 0)
		goto done;
	value = (MDB_val){c.pos, c.buf};
	if ((err = store_txn_begin(store, STORE_ENV_LIVE, true, &txn)) != 0)
		goto done;
	err =
	    store_error(mdb_put(txn, store->dbi[STORE_META], &key, &value, 0));
	err = store_txn_end(txn, err);
done:
	free(c.buf);
	return err;
}

int store_status_get(struct store *store, struct store_status *status)
{
	MDB_val key = {strlen(STATUS_KEY), STATUS_KEY}, value;
	struct cursor c = {0};
	MDB_txn *txn;
	int err;

	memset(status, 0, sizeof(*status));
	if ((err = store_txn_begin(store, STORE_ENV_LIVE, false, &txn)) != 0)
		return err;
	err = store_error(mdb_get(txn, store->dbi[STORE_META], &key, &value));
	if (err == 0) {
		/* Read in place: the page stays valid until the abort. */
		c = (struct cursor){.buf = value.mv_data,
		                    .size = value.mv_size};
		err = status_decode(&c, status);
	}
	mdb_txn_abort(txn);
	if (err != 0)
		memset(status, 0, sizeof(*status));
	return err;
}
