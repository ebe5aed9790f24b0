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

/* One slot of the process table. */
struct master_worker {
	pid_t pid; /* 0 when not running */
	time_t started;
	time_t respawn_at; /* 0 = not waiting for a respawn */
	unsigned failures; /* fast deaths in a row */
	/* The listener sockets the master bound for this slot; kept open
	 * across the worker's restarts so the reuseport group never
	 * changes under the other workers. */
	struct worker_listener_fd *listeners;
	size_t listener_count;
};

struct master {
	struct conf *conf;
	const struct master_options *options;
	struct store *store;
	struct shm shm;
	struct auth_nonce_key nonce_key;
	struct master_worker *workers;
	size_t worker_count;
	bool stopping; /* no more respawns */
	/* For the status snapshot (status.c). */
	time_t started;
	uint64_t generation;
	time_t status_time; /* of the last publication; 0 = publish now */
	int status_error;   /* of the last publication, logged once */
	uint64_t reloads;
	time_t last_reload;
	char last_reload_error[STORE_STATUS_ERROR_MAX]; /* empty: applied */
};

/* listeners.c: binds every slot's listener sockets. */
int master_bind_listeners(struct master *master);
/* In a worker: closes the other slots' sockets. */
void master_close_other_listeners(struct master *master, size_t keep);
void master_close_listeners(struct master *master);

/* workers.c */
int master_spawn(struct master *master, size_t slot);
/* Reaps every dead child, cleans its state, schedules its respawn. */
void master_reap(struct master *master);
/* Starts the workers whose respawn time has come; returns the seconds to
 * the next pending respawn, or 0 when none is pending. */
unsigned master_respawn_due(struct master *master);
void master_signal_workers(struct master *master, int sig);
size_t master_live_workers(const struct master *master);
/* Waits for the workers to exit, SIGKILL after timeout seconds. */
void master_wait_workers(struct master *master, unsigned timeout);

/* privileges.c: drops root for conf->run_user, keeping what binding
 * privileged ports needs. */
int master_drop_privileges(const struct conf *conf);

/* status.c: publishes the status snapshot into the store, one entry per
 * worker slot (turnpikectl status). */
void master_publish_status(struct master *master);

/* pidfile.c */
int master_write_pid_file(const char *path);
void master_remove_pid_file(const char *path);

#endif
