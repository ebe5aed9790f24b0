/*
 * store: the state that must be counted across workers or survive a
 * process, in two LMDB environments (DESIGN.md section 4).
 *
 * The live environment, in the state directory itself (data.mdb,
 * lock.mdb), holds
 *   - live allocations, one record each, keyed by the client 5-tuple;
 *   - allocation counts per quota key and in total, changed in the same
 *     write transaction as the record, so quotas are exact server-wide;
 *   - the master's status snapshot.
 * It is written at allocation-rate events only (create, refresh,
 * permission, channel, delete), never per packet, and without fsync:
 * the master clears it at start, so a system crash costs nothing that
 * lives on.
 *
 * The durable environment, in the subdirectory durable/ (data.mdb,
 * lock.mdb), holds the operator's data: the user database, its USERHASH
 * index and per-user quota overrides. Every change there is on disk when
 * the call returns (LMDB's default: fsync at commit).
 *
 * One struct store opens, reads, writes and closes both. Only this
 * module includes <lmdb.h>. An opened store must not cross fork(): each
 * process opens its own, and a child neither uses nor closes one it
 * inherited (closing it would free the parent's reader slots). Two
 * stores of one directory must not be open in one process at once.
 *
 * Functions return 0 or a positive errno value. LMDB errors are
 * translated at this edge: MDB_MAP_FULL is ENOSPC, MDB_NOTFOUND is
 * ENOENT, MDB_KEYEXIST is EEXIST, MDB_READERS_FULL is EAGAIN, a file that
 * is not an LMDB environment of this format is EPROTO, other LMDB errors
 * EIO; system errors pass through. Every function may also return EINVAL
 * for an argument out of bounds (an empty or unterminated key, a count
 * past its maximum, an address neither IPv4 nor IPv6) and each writing
 * one EROFS on a store opened STORE_READ_ONLY.
 */
#ifndef TURNPIKE_STORE_H
#define TURNPIKE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#define STORE_NAME_MAX      513 /* a STUN USERNAME (512 bytes) and NUL */
#define STORE_QUOTA_KEY_MAX 129
#define STORE_MAX_PEERS     32 /* permissions kept in a record */
#define STORE_MAX_CHANNELS  16

struct store;

enum store_open_flags {
	STORE_READ_ONLY = 1 << 0, /* turnpikectl's status commands */
	/* The master, at start: convert a store of the one-environment
	 * layout (version 1) instead of refusing it. */
	STORE_MIGRATE = 1 << 1,
};

/*
 * Opens (creating the directories, mode 0750, and the environments if
 * needed) the store in dir: its live environment in dir, its durable one
 * in dir/durable. A read-only open creates nothing and works while
 * writers have the store open, but still needs write access to both
 * lock.mdb files: EROFS when one is on a read-only file system (LMDB
 * would read without a reader slot). Returns 0, or
 * EACCES/ENOENT/ENOTDIR/EROFS/... from the file system, EPROTO for
 * a store of another format version (among them a version 1 store opened
 * without STORE_MIGRATE), EIO; EINVAL for unknown flags or
 * STORE_READ_ONLY with STORE_MIGRATE.
 *
 * With STORE_MIGRATE, a version 1 store (users and quota overrides in
 * the live environment) is converted: when the durable environment holds
 * nothing yet, every user (indexed by USERHASH) and override is copied
 * to it in one durable transaction; then they are dropped from the live
 * environment, which gets version 2, and that is synced. A conversion
 * cut short by a crash is finished at the next open: the copy committed
 * or did not, and a durable environment that already holds data keeps
 * it (nothing is copied over it). store_migration_get says what was done.
 */
int store_open(const char *dir, unsigned flags, struct store **out);

/* What store_open did to convert an older store, for the log. */
struct store_migration {
	uint32_t from_version; /* 0: nothing was converted */
	/* Found in the old layout; copied when copied is true, else
	 * dropped because the durable environment already held data (a
	 * conversion that had copied them and crashed before dropping). */
	size_t users, overrides;
	bool copied;
};
void store_migration_get(const struct store *store,
                         struct store_migration *out);

/* Closes it; NULL is a no-op. */
void store_close(struct store *store);

/* The master, at start: deletes every live allocation and count (nothing
 * can be live before the master binds its listeners). */
int store_clear_live(struct store *store);

/* Clears stale reader slots of dead processes (mdb_reader_check); the
 * master calls it after reaping a worker. *dead may be NULL. */
int store_reader_check(struct store *store, int *dead);

/*
 * A client 5-tuple: transport, client address, listener address. Both
 * addresses are AF_INET or AF_INET6; only family, address and port count
 * (an IPv4-mapped IPv6 address is the IPv4 one; flow and scope ids are
 * not kept), so foreach returns them in that normal form.
 */
struct store_five_tuple {
	uint8_t transport; /* 17 UDP, 6 TCP, 56 TLS-over-TCP (ours) */
	struct sockaddr_storage client;
	struct sockaddr_storage listener;
};

struct store_peer {
	uint8_t family; /* AF_INET (first 4 bytes of addr) or AF_INET6 */
	uint8_t addr[16];
	uint64_t expires; /* wall-clock seconds */
};

struct store_channel {
	uint16_t number;
	struct sockaddr_storage peer; /* AF_INET or AF_INET6 */
	uint64_t expires;             /* wall-clock seconds */
};

/* One allocation as recorded for the other processes and turnpikectl.
 * Strings are NUL-terminated; quota_key must not be empty. Only the first
 * peer_count peers and channel_count channels are stored. */
struct store_allocation {
	struct store_five_tuple tuple;
	char username[STORE_NAME_MAX];
	char quota_key[STORE_QUOTA_KEY_MAX];
	uint32_t worker;                    /* worker slot */
	pid_t pid;                          /* of the worker process */
	struct sockaddr_storage relayed[2]; /* family unused = none */
	uint64_t created;                   /* wall-clock seconds */
	uint64_t expires;                   /* wall-clock seconds */
	uint16_t peer_count;
	struct store_peer peers[STORE_MAX_PEERS];
	uint16_t channel_count;
	struct store_channel channels[STORE_MAX_CHANNELS];
};

/* Limits checked when an allocation is added; 0 = unlimited. A per-user
 * override in the store (store_quota_set) replaces user_quota: it is read
 * from the durable environment just before the live write transaction
 * that counts. */
struct store_limits {
	uint32_t user_quota;
	uint32_t total_quota;
};

/*
 * Records a new allocation, checking in the same write transaction that
 * the 5-tuple is free (any worker), that the quota key has fewer than its
 * quota and the server fewer than total_quota allocations, and counting
 * it. Returns 0; EEXIST when the 5-tuple is held (RFC 8656 §7.2: 437);
 * EDQUOT when a quota is reached (486); ENOSPC/EIO on store failure.
 */
int store_allocation_add(struct store *store,
                         const struct store_allocation *allocation,
                         const struct store_limits *limits);

/* Rewrites an existing record (refresh, permission, channel). ENOENT when
 * it is not there; EINVAL when its quota key differs from the recorded
 * one (the counts belong to that key). */
int store_allocation_update(struct store *store,
                            const struct store_allocation *allocation);

/* Deletes a record and gives its quota back. ENOENT when not there. */
int store_allocation_delete(struct store *store,
                            const struct store_five_tuple *tuple);

/*
 * Deletes every record of a dead worker (the master, after reaping it) and
 * gives their quota back, in one transaction. A worker is named by its
 * slot and its pid together: a slot is reused by later workers and a pid
 * by later processes, and records of a live worker in the same slot (a
 * respawn) or with the same pid must stay. *removed (may be NULL) gets
 * how many.
 */
int store_worker_purge(struct store *store, uint32_t worker, pid_t pid,
                       size_t *removed);

/* Calls fn for each live allocation until it returns non-zero, which is
 * then returned. fn runs inside a read transaction: keep it short, and
 * the pointer is valid during the call only. EIO for a damaged record. */
typedef int (*store_allocation_fn)(const struct store_allocation *a, void *arg);

/* store_worker_purge(), calling fn (its result ignored) with each record
 * before it goes, inside the write transaction: keep it short, every
 * worker's Allocate waits for it. */
int store_worker_purge_each(struct store *store, uint32_t worker, pid_t pid,
                            store_allocation_fn fn, void *arg, size_t *removed);

int store_allocation_foreach(struct store *store, store_allocation_fn fn,
                             void *arg);

/* Live allocations of a quota key (0 when none), and in total. */
int store_allocation_count(struct store *store, const char *quota_key,
                           uint32_t *count);
int store_allocation_total(struct store *store, uint32_t *count);

/*
 * The user database, in the durable environment: long-term keys only,
 * never passwords (RFC 8489 §9.2.2: MD5 and SHA-256 of
 * "name:realm:password"), with the realm they were made for. Names are
 * keys: at most 511 bytes (LMDB's key limit; RFC 8489 §14.3 allows fewer
 * than 509), else EINVAL.
 *
 * Each user is also indexed by its USERHASH (RFC 8489 §14.4: SHA-256 of
 * name ":" realm), computed with the realm stored with the user, in the
 * transaction that writes the user. The index therefore never depends on
 * the configured realm: after a change of realm a user's keys and
 * USERHASH are both those of the old one, and neither matches until the
 * password is set again, which re-indexes the user.
 */
struct store_user {
	char name[STORE_NAME_MAX];
	char realm[128];
	uint8_t key_md5[16];
	uint8_t key_sha256[32];
};
/* Adds or replaces (passwd), and its USERHASH entry. On disk before it
 * returns. ENOMEM when OpenSSL could not compute the USERHASH. */
int store_user_put(struct store *store, const struct store_user *user);
/* ENOENT when there is no such user. */
int store_user_get(struct store *store, const char *name,
                   struct store_user *user);
/*
 * The user whose USERHASH is hash and whose keys were made for realm,
 * found through the index without a scan. ENOENT when there is none (a
 * user of another realm with that hash is none). The caller still
 * compares the hash with the one of the name found, in constant time:
 * the index is trusted to find, not to authenticate.
 */
int store_user_get_by_hash(struct store *store, const uint8_t hash[32],
                           const char *realm, struct store_user *user);
/* On disk before it returns; ENOENT when there is no such user. */
int store_user_delete(struct store *store, const char *name);
/* Like store_allocation_foreach, in name order. */
typedef int (*store_user_fn)(const struct store_user *user, void *arg);
int store_user_foreach(struct store *store, store_user_fn fn, void *arg);

/* Per-user quota overrides (turnpikectl quota set), in the durable
 * environment, replacing the configured user-quota at the next
 * store_allocation_add; 0 = unlimited. ENOENT from get when none is set;
 * delete removes the override (ENOENT when none). Set and delete are on
 * disk before they return. */
int store_quota_set(struct store *store, const char *quota_key, uint32_t quota);
int store_quota_get(struct store *store, const char *quota_key,
                    uint32_t *quota);
int store_quota_delete(struct store *store, const char *quota_key);

/*
 * The master's status snapshot, for turnpikectl status. The per-worker
 * counters live in the master's anonymous shared memory, which no other
 * process can map, so the master publishes them here once a second; a
 * snapshot a few seconds old means the master is gone. Kept in the live
 * metadata table, written without fsync like the live tables, and not
 * cleared by store_clear_live (the master overwrites it at once).
 */
#define STORE_STATUS_WORKERS_MAX 1024 /* as turnpiked -w and `workers` */
#define STORE_STATUS_PATH_MAX    4096
#define STORE_STATUS_ERROR_MAX   512

/* What the rate limits did at one level (DESIGN.md section 5). */
struct store_rate_counters {
	uint64_t passed, delayed, dropped;
};

#define STORE_RATE_LEVELS 3 /* allocation, user, server */

/* One worker slot in use, counters since that worker's start. */
struct store_status_worker {
	uint32_t index;
	pid_t pid;           /* 0 while the slot waits to be respawned */
	uint64_t generation; /* of the configuration it was started with */
	/* Of an older generation (or SIGQUIT): takes no new allocations and
	 * exits when its own end or at drain-timeout. */
	bool draining;
	uint64_t allocations;
	uint64_t client_packets, client_bytes; /* relayed client -> peer */
	uint64_t peer_packets, peer_bytes;     /* relayed peer -> client */
	/* Relayed packets dropped: no permission, no channel, Send
	 * indication refused. */
	uint64_t drops;
	struct store_rate_counters rate[STORE_RATE_LEVELS];
	uint64_t rate_queue_dropped; /* paced packets over a queue bound */
};

/* A server-wide counter (turnpikectl counters): the workers' metrics
 * (metrics.h) summed by the master, by name, so that a turnpikectl of
 * another version reads what it knows and shows the rest by name. */
#define STORE_COUNTERS_MAX     64
#define STORE_COUNTER_NAME_MAX 40
struct store_counter {
	char name[STORE_COUNTER_NAME_MAX];
	uint64_t value;
};

/* Strings are NUL-terminated. Only the first worker_count workers are
 * stored. Large (about 64 KiB): allocate it rather than put it on the
 * stack. */
struct store_status {
	pid_t master_pid;
	uint64_t started;    /* the master's start, wall-clock seconds */
	uint64_t time;       /* of the snapshot, wall-clock seconds */
	uint64_t generation; /* of the current workers */
	char config_path[STORE_STATUS_PATH_MAX];
	uint64_t reloads;          /* reloads asked for (SIGHUP) */
	uint64_t last_reload_time; /* wall-clock seconds; 0 = none yet */
	/* Why the last reload was refused; empty when it was applied. */
	char last_reload_error[STORE_STATUS_ERROR_MAX];
	uint32_t worker_count;
	struct store_status_worker workers[STORE_STATUS_WORKERS_MAX];
	/* 0 in a snapshot of a master from before counters were kept. */
	uint32_t counter_count;
	struct store_counter counters[STORE_COUNTERS_MAX];
	/* What the workers that have exited (crashed, or drained after a
	 * reload) counted, summed, so that totals never go back; its
	 * allocations are 0. Zero in a snapshot of a master from before. */
	struct store_status_worker exited;
};

/* Replaces the snapshot. EINVAL for a worker_count or counter_count past
 * the maximum or an unterminated string. */
int store_status_put(struct store *store, const struct store_status *status);
/* ENOENT when no master has published one; EIO when it is damaged. */
int store_status_get(struct store *store, struct store_status *status);

/* A message for a store error code: the store's meaning of EDQUOT,
 * EPROTO, EROFS and ENOSPC, mdb_strerror for raw LMDB codes, strerror
 * for other errno values. */
const char *store_strerror(int err);

/*
 * Revocations (turnpikectl revoke): store_revoke() asks every worker to
 * end the live allocations of a user made up to the wall-clock second
 * `when`; a later revocation of the same user replaces it. EINVAL for an
 * unusable name. Workers poll store_revocation_seq(), which grows with
 * each revocation (0 before any), and read the list with
 * store_revocation_foreach(), which calls fn for each user until it
 * returns non-zero, inside a read transaction: copy what you need. Kept
 * in the live environment: a restart forgets them, with the allocations.
 */
int store_revoke(struct store *store, const char *name, uint64_t when);
/* Whose allocations a revocation of name ends: the user of that name,
 * and every REST API credential of that user-id (its quota key), so
 * that "dave" ends all of dave's "expiry:dave" credentials at once. */
bool store_revocation_matches(const char *name, const char *username,
                              const char *quota_key);
int store_revocation_seq(struct store *store, uint64_t *seq);
typedef int (*store_revocation_fn)(const char *name, uint64_t when, void *arg);
int store_revocation_foreach(struct store *store, store_revocation_fn fn,
                             void *arg);

#endif
