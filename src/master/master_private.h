/*
 * The master's own types, shared by the files of src/master/ only.
 */
#ifndef TURNPIKE_MASTER_PRIVATE_H
#define TURNPIKE_MASTER_PRIVATE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "turnpike/auth.h"
#include "turnpike/conf.h"
#include "turnpike/net.h"
#include "turnpike/master.h"
#include "turnpike/shm.h"
#include "turnpike/store.h"
#include "turnpike/worker.h"

/* A worker that dies this soon after its start counts as failing, and
 * its next start is put off (1, 2, 4 ... up to 30 s). */
#define MASTER_FAST_DEATH_SECONDS  10
#define MASTER_MAX_BACKOFF_SECONDS 30
/* How long SIGTERM waits for workers before SIGKILL. */
#define MASTER_STOP_SECONDS 5
/* How often the status snapshot is published for turnpikectl. */
#define MASTER_STATUS_SECONDS 1

/* The process table has a fixed number of slots, and a worker's slot is
 * its index everywhere: its counter block in shared memory, its records
 * in the store, its rate-limit share. A slot is unique among the live
 * workers of every generation, so two generations of CONF_WORKERS_MAX fit
 * side by side (DESIGN.md section 7); the shared memory is sized for all
 * slots before the first fork, since it cannot grow under the workers. */
#define MASTER_SLOTS 256
_Static_assert(MASTER_SLOTS >= 2 * CONF_WORKERS_MAX,
               "two generations must fit in the slots");
_Static_assert(NET_STEER_WIDTH >= CONF_WORKERS_MAX,
               "a steering row holds a generation's listeners");

/* One slot of the process table. */
struct master_worker {
	/* Held by a live worker or by a current-generation worker waiting
	 * to be respawned; a free slot has neither pid nor listeners. */
	bool in_use;
	/* Of an older generation (or stopping gracefully): its listeners are
	 * closed, it serves its own allocations, and it is not respawned. */
	bool draining;
	uint64_t generation;
	pid_t pid; /* 0 when not running */
	time_t started;
	time_t respawn_at;     /* 0 = not waiting for a respawn */
	time_t drain_deadline; /* draining: SIGKILL after it */
	unsigned failures;     /* fast deaths in a row */
	/* The listener sockets the master bound for this slot; kept open
	 * across the worker's restarts so the reuseport group never
	 * changes under the other workers, closed when the slot drains. */
	struct worker_listener_fd *listeners;
	size_t listener_count;
	/* Draining: the addresses its listeners had. Its allocations'
	 * sockets stay bound there, so that a later generation listening
	 * there again finds them taken by our own worker, not by another
	 * process (master_check_listeners_free). */
	struct conf_listen *drained;
	size_t drained_count;
};

struct master {
	struct conf *conf; /* of the current generation */
	const struct master_options *options;
	struct store *store;
	struct shm shm;
	/* The counts of workers that have exited, crashed or drained, so
	 * that the sums turnpikectl shows never go back (status.c). */
	struct metrics_worker retired;
	struct auth_nonce_key nonce_key;
	struct master_worker *workers; /* MASTER_SLOTS slots */
	size_t worker_count;           /* of the current generation */
	uint64_t generation;           /* the current one; the first is 1 */
	bool stopping;                 /* no more respawns */
	/* Steers new UDP clients to the current generation's listeners;
	 * NULL when bpf() was refused (the kernel's hash alone). */
	struct net_steer *steer;
	int pid_fd; /* the locked pid file, or -1 */
	/* For the status snapshot (status.c). */
	time_t started;
	time_t status_time; /* of the last publication; 0 = publish now */
	int status_error;   /* of the last publication, logged once */
	uint64_t reloads;
	time_t last_reload;
	char last_reload_error[STORE_STATUS_ERROR_MAX]; /* empty: applied */
};

/* listeners.c: binds the listener sockets of a new generation's slots
 * from conf (the k-th new slot's entries point into conf->listens). For
 * a TCP or TLS address conf keeps with the same buffers, the k-th slot of
 * the current generation shares (dup) its socket rather than a new one
 * being bound, so that the connections in its accept queue are kept; UDP
 * sockets are always bound anew, so that they form one reuseport group
 * (listeners.c). Returns 0 or an errno (logged); on failure nothing is
 * left open. */
int master_bind_listeners(struct master *master, const struct conf *conf,
                          const size_t *slots, size_t count);
/* Checks that no other process listens on an address of conf that the
 * master holds no listener for yet: a second turnpiked binding it with
 * SO_REUSEPORT as the same user would silently share its clients.
 * Returns 0 or EADDRINUSE (logged). */
int master_check_listeners_free(const struct master *master,
                                const struct conf *conf);
/* At start, before privileges are dropped: loads the steering programs
 * (net_steer_open), or logs why new clients are left to the kernel's
 * hash. master_bind_listeners then gives each new generation's UDP
 * listeners to them. */
void master_steer_open(struct master *master);
/* After privileges are dropped: keeps CAP_BPF (permitted, not effective)
 * only when this kernel needs it for the map updates of later
 * generations; forgets it otherwise. */
void master_steer_settle(struct master *master);
/* In a worker: closes the other slots' sockets and the steering maps. */
void master_close_other_listeners(struct master *master, size_t keep);
void master_close_slot_listeners(struct master_worker *slot);
/* For a slot that starts draining: remembers its listen addresses, then
 * closes its listeners. */
void master_retire_slot_listeners(struct master_worker *slot);
void master_close_listeners(struct master *master);
/* After a reload that keeps the listeners: points the slots' listener
 * entries into fresh, which has the same listens in the same order. */
void master_rebase_listeners(struct master *master, const struct conf *old,
                             const struct conf *fresh);

/* generation.c */
/* Whether going from old to fresh needs a new generation of workers
 * (listeners, their buffers or the worker count changed). */
bool master_generation_needed(const struct master *master,
                              const struct conf *fresh, size_t count);
/* Starts generation master->generation + 1 with fresh (taken over on
 * success, left to the caller on failure) and count workers, then
 * retires the older generations: SIGHUP (the non-socket settings),
 * SIGQUIT (drain). Returns 0, ENOSPC when too few slots are free, or the
 * errno of binding; on failure the running generation is untouched. */
int master_start_generation(struct master *master, struct conf *fresh,
                            size_t count);
/* Graceful stop (SIGQUIT): every serving worker drains like an old
 * generation. */
void master_drain_all(struct master *master);
/* SIGKILLs draining workers past their drain deadline (a worker stops
 * itself at drain-timeout; this is for one that hangs). */
void master_drain_due(struct master *master);

/* workers.c */
int master_spawn(struct master *master, size_t slot);
/* Reaps every dead child and purges its records; a current-generation
 * worker gets a respawn scheduled, a draining one frees its slot. */
void master_reap(struct master *master);
/* Starts the workers whose respawn time has come; returns the seconds to
 * the next pending respawn, or 0 when none is pending. */
unsigned master_respawn_due(struct master *master);
/* Signals every live worker of every generation. */
void master_signal_workers(struct master *master, int sig);
/* Signals the draining workers only. */
void master_signal_draining(struct master *master, int sig);
/* Returns a slot to the free list (its listeners closed). */
void master_release_slot(struct master_worker *slot);
size_t master_live_workers(const struct master *master);
/* Waits for the workers to exit, SIGKILL after timeout seconds. */
void master_wait_workers(struct master *master, unsigned timeout);

/* privileges.c: drops root for conf->run_user, keeping what binding
 * privileged ports needs; not root, drops every capability but
 * CAP_NET_BIND_SERVICE. */
int master_drop_privileges(const struct conf *conf, bool keep_bpf);
/* CAP_BPF, kept permitted for the steering maps (keep_bpf above): made
 * effective around a map update and not otherwise; forgotten for good by
 * the workers, and by the master when this kernel lets it update the
 * maps without (Linux 5.19 on, or unprivileged bpf() enabled). No-ops
 * without it. Return 0 or an errno. */
int master_bpf_capability(bool raise);
int master_forget_bpf_capability(void);

/* status.c: publishes the status snapshot into the store, one entry per
 * slot in use (turnpikectl status). */
void master_publish_status(struct master *master);

/* pidfile.c: the pid file is also the lock that keeps a second
 * turnpiked of the same configuration from starting (it would clear the
 * first one's live state and join its reuseport groups). Opens, locks
 * (flock, held by the master and inherited by its workers until the last
 * of them exits) and writes the pid; *fd gets the descriptor. Returns 0,
 * EWOULDBLOCK when another process holds the lock (logged with its pid),
 * or the errno of the file. A NULL path locks nothing (*fd = -1). */
int master_lock_pid_file(const char *path, int *fd);
/* Removes the file, then closes fd. */
void master_remove_pid_file(const char *path, int fd);

#endif
