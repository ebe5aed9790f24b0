/*
 * Live allocations and their counts. A record and its counts change in
 * one write transaction, and LMDB admits one writer at a time across
 * every process, so a quota checked here holds server-wide.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "store_private.h"

/* An allocation's key and record, encoded before the transaction so the
 * write lock is held no longer than needed. */
struct encoded {
	uint8_t key_buf[STORE_TUPLE_KEY_SIZE];
	uint8_t record_buf[STORE_RECORD_MAX];
	MDB_val key, record;
};

static int encode(const struct store_allocation *a, struct encoded *e)
{
	size_t len;
	int err;

	if ((err = store_tuple_encode(&a->tuple, e->key_buf)) != 0 ||
	    (err = store_record_encode(a, e->record_buf, &len)) != 0)
		return err;
	e->key = (MDB_val){sizeof(e->key_buf), e->key_buf};
	e->record = (MDB_val){len, e->record_buf};
	return 0;
}

/* A count that is not there is zero. */
static int count_get(MDB_txn *txn, MDB_dbi dbi, const char *key,
                     uint32_t *count)
{
	int err = store_u32_get(txn, dbi, key, count);

	if (err == ENOENT) {
		*count = 0;
		return 0;
	}
	return err;
}

/*
 * The limits with the quota key's override, if any, in place of the
 * configured user quota. Read in a read transaction of the durable
 * environment before the live write transaction that counts: LMDB
 * transactions do not span environments, and the write lock is held no
 * longer than needed. A `quota set` that commits between this read and
 * that transaction is harmless: this Allocate is judged by the quota of
 * a moment ago, as if it had come a moment earlier, and the next one by
 * the new quota. No count depends on the override, so nothing drifts.
 */
static int limits_resolve(struct store *store, const char *quota_key,
                          const struct store_limits *configured,
                          struct store_limits *limits)
{
	int err;

	*limits = *configured;
	err = store_quota_get(store, quota_key, &limits->user_quota);
	return err == ENOENT ? 0 : err;
}

/* Adds delta (+1 or -1) to the quota key's count and the total; a count
 * that reaches zero is deleted so the table holds live keys only. */
static int count_change(struct store *store, MDB_txn *txn,
                        const char *quota_key, int delta)
{
	MDB_dbi counts = store->dbi[STORE_QUOTA_COUNTS];
	MDB_dbi meta = store->dbi[STORE_META];
	uint32_t count, total;
	MDB_val key = {strlen(quota_key), (void *)quota_key};
	int err;

	if ((err = count_get(txn, counts, quota_key, &count)) != 0 ||
	    (err = count_get(txn, meta, "total", &total)) != 0)
		return err;
	/* Never wrap below zero, even on a table cleared under us. */
	count = delta > 0 ? count + 1 : (count > 0 ? count - 1 : 0);
	total = delta > 0 ? total + 1 : (total > 0 ? total - 1 : 0);
	if (count > 0)
		err = store_u32_put(txn, counts, quota_key, count);
	else
		err = store_error(mdb_del(txn, counts, &key, NULL));
	if (err != 0 && err != ENOENT)
		return err;
	return store_u32_put(txn, meta, "total", total);
}

static int quota_check(struct store *store, MDB_txn *txn, const char *quota_key,
                       const struct store_limits *limits)
{
	uint32_t quota = limits->user_quota, count, total;
	int err;

	if ((err = count_get(txn, store->dbi[STORE_QUOTA_COUNTS], quota_key,
	                     &count)) != 0 ||
	    (err = count_get(txn, store->dbi[STORE_META], "total", &total)) !=
	        0)
		return err;
	/* RFC 8656 §7.2 item 10: past either quota the answer is 486. */
	if (quota > 0 && count >= quota)
		return EDQUOT;
	if (limits->total_quota > 0 && total >= limits->total_quota)
		return EDQUOT;
	return 0;
}

static int add_in(struct store *store, MDB_txn *txn, struct encoded *e,
                  const char *quota_key, const struct store_limits *limits)
{
	MDB_dbi allocations = store->dbi[STORE_ALLOCATIONS];
	MDB_val held;
	int rc, err;

	/* RFC 8656 §7.2 item 2: a 5-tuple in use, by any worker, is 437. */
	rc = mdb_get(txn, allocations, &e->key, &held);
	if (rc != MDB_NOTFOUND)
		return rc == 0 ? EEXIST : store_error(rc);
	if ((err = quota_check(store, txn, quota_key, limits)) != 0)
		return err;
	rc = mdb_put(txn, allocations, &e->key, &e->record, MDB_NOOVERWRITE);
	if (rc != 0)
		return store_error(rc);
	return count_change(store, txn, quota_key, +1);
}

int store_allocation_add(struct store *store,
                         const struct store_allocation *allocation,
                         const struct store_limits *limits)
{
	struct store_limits resolved;
	struct encoded e;
	MDB_txn *txn;
	int err;

	if ((err = encode(allocation, &e)) != 0 ||
	    (err = limits_resolve(store, allocation->quota_key, limits,
	                          &resolved)) != 0 ||
	    (err = store_txn_begin(store, STORE_ENV_LIVE, true, &txn)) != 0)
		return err;
	err = add_in(store, txn, &e, allocation->quota_key, &resolved);
	return store_txn_end(txn, err);
}

/* The record under key, decoded. ENOENT when there is none. */
static int record_get(struct store *store, MDB_txn *txn, MDB_val *key,
                      struct store_allocation *a)
{
	MDB_val record;
	int rc;

	rc = mdb_get(txn, store->dbi[STORE_ALLOCATIONS], key, &record);
	if (rc != 0)
		return store_error(rc);
	return store_record_decode(record.mv_data, record.mv_size, a);
}

static int update_in(struct store *store, MDB_txn *txn, struct encoded *e,
                     const char *quota_key)
{
	struct store_allocation old;
	int err;

	if ((err = record_get(store, txn, &e->key, &old)) != 0)
		return err;
	/* The counts belong to the quota key the record was added with;
	 * RFC 8656 §7.3 refuses a refresh by other credentials anyway. */
	if (strcmp(old.quota_key, quota_key) != 0)
		return EINVAL;
	return store_error(mdb_put(txn, store->dbi[STORE_ALLOCATIONS], &e->key,
	                           &e->record, 0));
}

int store_allocation_update(struct store *store,
                            const struct store_allocation *allocation)
{
	struct encoded e;
	MDB_txn *txn;
	int err;

	if ((err = encode(allocation, &e)) != 0 ||
	    (err = store_txn_begin(store, STORE_ENV_LIVE, true, &txn)) != 0)
		return err;
	err = update_in(store, txn, &e, allocation->quota_key);
	return store_txn_end(txn, err);
}

static int delete_in(struct store *store, MDB_txn *txn, MDB_val *key)
{
	struct store_allocation old;
	int err;

	if ((err = record_get(store, txn, key, &old)) != 0)
		return err;
	err =
	    store_error(mdb_del(txn, store->dbi[STORE_ALLOCATIONS], key, NULL));
	if (err != 0)
		return err;
	return count_change(store, txn, old.quota_key, -1);
}

int store_allocation_delete(struct store *store,
                            const struct store_five_tuple *tuple)
{
	uint8_t key_buf[STORE_TUPLE_KEY_SIZE];
	MDB_val key = {sizeof(key_buf), key_buf};
	MDB_txn *txn;
	int err;

	if ((err = store_tuple_encode(tuple, key_buf)) != 0 ||
	    (err = store_txn_begin(store, STORE_ENV_LIVE, true, &txn)) != 0)
		return err;
	err = delete_in(store, txn, &key);
	return store_txn_end(txn, err);
}

/* What a purge does with each record of the dead worker. */
struct purge {
	uint32_t worker;
	pid_t pid;
	store_allocation_fn fn; /* or NULL */
	void *arg;
	size_t removed;
};

/* After mdb_cursor_del the cursor already sits on the next record, and
 * MDB_NEXT returns that one rather than skipping it. */
static int purge_in(struct store *store, MDB_txn *txn, MDB_cursor *cursor,
                    struct purge *purge)
{
	struct store_allocation a;
	MDB_val key, record;
	int rc, err;

	while ((rc = mdb_cursor_get(cursor, &key, &record, MDB_NEXT)) == 0) {
		err = store_record_decode(record.mv_data, record.mv_size, &a);
		if (err != 0)
			return err;
		/* A slot is reused by a later worker, and a pid by a later
		 * process: only both together name the dead one. */
		if (a.worker != purge->worker || a.pid != purge->pid)
			continue;
		if (purge->fn != NULL &&
		    (err = store_tuple_decode(key.mv_data, key.mv_size,
		                              &a.tuple)) == 0)
			(void)purge->fn(&a, purge->arg);
		if ((err = store_error(mdb_cursor_del(cursor, 0))) != 0 ||
		    (err = count_change(store, txn, a.quota_key, -1)) != 0)
			return err;
		purge->removed++;
	}
	return rc == MDB_NOTFOUND ? 0 : store_error(rc);
}

int store_worker_purge_each(struct store *store, uint32_t worker, pid_t pid,
                            store_allocation_fn fn, void *arg, size_t *removed)
{
	struct purge purge = {worker, pid, fn, arg, 0};
	MDB_cursor *cursor;
	MDB_txn *txn;
	int err;

	if ((err = store_txn_begin(store, STORE_ENV_LIVE, true, &txn)) != 0)
		return err;
	err = store_error(
	    mdb_cursor_open(txn, store->dbi[STORE_ALLOCATIONS], &cursor));
	if (err == 0) {
		err = purge_in(store, txn, cursor, &purge);
		mdb_cursor_close(cursor);
	}
	err = store_txn_end(txn, err);
	if (removed != NULL)
		*removed = err == 0 ? purge.removed : 0;
	return err;
}

int store_worker_purge(struct store *store, uint32_t worker, pid_t pid,
                       size_t *removed)
{
	return store_worker_purge_each(store, worker, pid, NULL, NULL, removed);
}

static int foreach_in(MDB_cursor *cursor, store_allocation_fn fn, void *arg)
{
	struct store_allocation a;
	MDB_val key, record;
	int rc, err;

	while ((rc = mdb_cursor_get(cursor, &key, &record, MDB_NEXT)) == 0) {
		if ((err = store_record_decode(record.mv_data, record.mv_size,
		                               &a)) != 0 ||
		    (err = store_tuple_decode(key.mv_data, key.mv_size,
		                              &a.tuple)) != 0)
			return err;
		if ((err = fn(&a, arg)) != 0)
			return err;
	}
	return rc == MDB_NOTFOUND ? 0 : store_error(rc);
}

int store_allocation_foreach(struct store *store, store_allocation_fn fn,
                             void *arg)
{
	MDB_cursor *cursor;
	MDB_txn *txn;
	int err;

	if ((err = store_txn_begin(store, STORE_ENV_LIVE, false, &txn)) != 0)
		return err;
	err = store_error(
	    mdb_cursor_open(txn, store->dbi[STORE_ALLOCATIONS], &cursor));
	if (err == 0) {
		err = foreach_in(cursor, fn, arg);
		mdb_cursor_close(cursor);
	}
	mdb_txn_abort(txn);
	return err;
}

static int read_u32(struct store *store, enum store_table table,
                    const char *key, uint32_t *value)
{
	MDB_txn *txn;
	int err;

	if ((err = store_txn_begin(store, STORE_ENV_LIVE, false, &txn)) != 0)
		return err;
	err = count_get(txn, store->dbi[table], key, value);
	mdb_txn_abort(txn);
	return err;
}

int store_allocation_count(struct store *store, const char *quota_key,
                           uint32_t *count)
{
	if (!store_key_valid(quota_key, STORE_QUOTA_KEY_MAX))
		return EINVAL;
	return read_u32(store, STORE_QUOTA_COUNTS, quota_key, count);
}

int store_allocation_total(struct store *store, uint32_t *count)
{
	return read_u32(store, STORE_META, "total", count);
}
