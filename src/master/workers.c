/*
 * The process table: starting workers, reaping them, cleaning up after a
 * crash and starting a replacement with back-off.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "turnpike/log.h"
#include "master_private.h"

/* In the child: undo the master's signal set-up; libevent takes over.
 * SIGHUP, SIGQUIT and SIGUSR1 are ignored until then: the master may
 * signal every worker (reload, graceful stop) before this one has its
 * handlers, and their default action would kill it. */
static void reset_signals(void)
{
	static const int stop_signals[] = {SIGCHLD, SIGTERM, SIGINT, SIGALRM};
	static const int later_signals[] = {SIGHUP, SIGQUIT, SIGUSR1};
	sigset_t none;
	size_t i;

	for (i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
		signal(stop_signals[i], SIG_DFL);
	for (i = 0; i < sizeof(later_signals) / sizeof(later_signals[0]); i++)
		signal(later_signals[i], SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* A worker outliving its master would keep serving its listener clones
 * unsupervised, and hold the address against a new turnpiked: it stops
 * (cleanly, SIGTERM) when the master dies, even by SIGKILL. The master
 * may have died before prctl() ran: then the worker was reparented
 * already and getppid() tells. */
static void die_with_master(pid_t master)
{
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0)
		log_warn("worker pdeathsig failed");
	if (getppid() != master)
		_exit(1);
}

static void __attribute__((noreturn))
run_child(struct master *master, size_t slot, pid_t parent)
{
	struct master_worker *w = &master->workers[slot];
	struct worker_params params;
	char name[32];
	int err;

	die_with_master(parent);
	reset_signals();
	snprintf(name, sizeof(name), "worker %zu", slot);
	log_set_process(name);
	master_close_other_listeners(master, slot);
	/* Kept for the master's steering maps only, where a kernel needs
	 * it (listeners.c); a worker parses the network's input. */
	if (master_forget_bpf_capability() != 0)
		log_warn("CAP_BPF drop failed");
	/* An MDB_env must not cross fork(): the worker opens its own. */
	memset(&master->shm.workers[slot], 0,
	       sizeof(master->shm.workers[slot]));
	params = (struct worker_params){
	    .index = (unsigned)slot,
	    .generation = w->generation,
	    .conf = master->conf,
	    .listeners = w->listeners,
	    .listener_count = w->listener_count,
	    .metrics = &master->shm.workers[slot],
	    .rate_users = master->shm.rate_users,
	    .nonce_key = &master->nonce_key,
	    .config_path = master->options->config_path,
	};
	err = worker_run(&params);
	_exit(err == 0 ? 0 : 1);
}

int master_spawn(struct master *master, size_t slot)
{
	struct master_worker *w = &master->workers[slot];
	pid_t parent = getpid(), pid;

	pid = fork();
	if (pid < 0) {
		log_warn("worker fork failed slot=%zu", slot);
		return errno;
	}
	if (pid == 0)
		run_child(master, slot, parent);
	w->pid = pid;
	w->started = time(NULL);
	w->respawn_at = 0;
	log_info("worker started slot=%zu pid=%ld generation=%llu", slot,
	         (long)pid, (unsigned long long)w->generation);
	return 0;
}

static struct master_worker *slot_of(struct master *master, pid_t pid,
                                     size_t *index)
{
	size_t i;

	for (i = 0; i < MASTER_SLOTS; i++) {
		if (master->workers[i].in_use &&
		    master->workers[i].pid == pid) {
			*index = i;
			return &master->workers[i];
		}
	}
	return NULL;
}

static void log_death(size_t slot, const struct master_worker *w, pid_t pid,
                      int status, bool stopping)
{
	/* A stop asked for, or a drained worker leaving, is no failure. */
	bool expected = stopping || w->draining;
	unsigned long long generation = (unsigned long long)w->generation;

	if (WIFEXITED(status))
		log_msg(WEXITSTATUS(status) == 0 || expected ? LOG_INFO
		                                             : LOG_ERR,
		        "worker exited slot=%zu pid=%ld generation=%llu "
		        "status=%d",
		        slot, (long)pid, generation, WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		log_msg(expected ? LOG_INFO : LOG_ERR,
		        "worker killed slot=%zu pid=%ld generation=%llu "
		        "signal=%d name=%s",
		        slot, (long)pid, generation, WTERMSIG(status),
		        sigabbrev_np(WTERMSIG(status)) != NULL
		            ? sigabbrev_np(WTERMSIG(status))
		            : "?");
}

/* What the purge of a dead worker's records logs. */
struct lost_lines {
	uint64_t now; /* wall-clock seconds */
	size_t logged;
};

/* The end of an allocation whose worker died: the line its worker would
 * have written (src/worker/session.c), from the record, without the
 * counts, which died with the worker. Rate limited: the purge holds the
 * store's write lock, and every worker's Allocate waits for it; the
 * "worker purged" line after it has the whole count. */
static int log_lost(const struct store_allocation *a, void *arg)
{
	static struct log_limit limit = LOG_LIMIT_INIT(500, 2);
	struct lost_lines *lines = arg;
	char client[NET_ADDRSTRLEN], listener[NET_ADDRSTRLEN];
	char relayed[NET_ADDR_LIST_MAX];

	if (!log_limit_take(&limit, LOG_INFO))
		return 0;
	lines->logged++;
	log_limit_write(
	    &limit, LOG_INFO,
	    "allocation ended user=%s transport=%s client=%s listener=%s "
	    "relayed=%s reason=crashed duration=%llu",
	    LOG_QUOTED(a->username), stun_transport_name(a->tuple.transport),
	    net_addr_format((const struct sockaddr *)&a->tuple.client, client,
	                    sizeof(client)),
	    net_addr_format((const struct sockaddr *)&a->tuple.listener,
	                    listener, sizeof(listener)),
	    net_addr_list_format(a->relayed, 2, relayed, sizeof(relayed)),
	    (unsigned long long)(lines->now > a->created
	                             ? lines->now - a->created
	                             : 0));
	return 0;
}

/* DESIGN.md section 4: the dead worker's allocations leave the store in
 * one transaction and their quota is free again. */
static void clean_after(struct master *master, size_t slot, pid_t pid)
{
	struct lost_lines lines = {(uint64_t)time(NULL), 0};
	size_t removed = 0;
	int err, dead = 0;

	shm_metrics_retire(&master->retired, &master->shm.workers[slot]);
	memset(&master->shm.workers[slot], 0,
	       sizeof(master->shm.workers[slot]));
	/* Its users' rate buckets may be taken over by other users now. */
	if (slot < RL_USER_MAX_WORKERS)
		rl_user_table_forget_worker(master->shm.rate_users,
		                            (unsigned)slot);
	err = store_worker_purge_each(master->store, (uint32_t)slot, pid,
	                              log_lost, &lines, &removed);
	if (err != 0)
		log_msg(LOG_ERR,
		        "worker purge failed slot=%zu pid=%ld error=%s", slot,
		        (long)pid, LOG_QUOTED(store_strerror(err)));
	else if (removed > 0)
		log_info("worker purged slot=%zu pid=%ld allocations=%zu "
		         "logged=%zu",
		         slot, (long)pid, removed, lines.logged);
	(void)store_reader_check(master->store, &dead);
}

static void schedule_respawn(struct master_worker *w, time_t now)
{
	unsigned delay = 0;

	if (now - w->started < MASTER_FAST_DEATH_SECONDS) {
		w->failures++;
		delay = 1u << (w->failures < 5 ? w->failures - 1 : 5);
		if (delay > MASTER_MAX_BACKOFF_SECONDS)
			delay = MASTER_MAX_BACKOFF_SECONDS;
	} else {
		w->failures = 0;
	}
	w->respawn_at = now + delay;
}

void master_release_slot(struct master_worker *slot)
{
	master_close_slot_listeners(slot);
	free(slot->drained);
	memset(slot, 0, sizeof(*slot));
}

void master_reap(struct master *master)
{
	struct master_worker *w;
	size_t slot;
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		w = slot_of(master, pid, &slot);
		if (w == NULL)
			continue;
		log_death(slot, w, pid, status, master->stopping);
		w->pid = 0;
		clean_after(master, slot, pid);
		/* DESIGN.md section 7: a draining worker is not replaced; its
		 * slot is free for a later generation. */
		if (master->stopping || w->draining ||
		    w->generation != master->generation)
			master_release_slot(w);
		else
			schedule_respawn(w, time(NULL));
	}
}

unsigned master_respawn_due(struct master *master)
{
	time_t now = time(NULL);
	unsigned next = 0;
	size_t i;

	for (i = 0; i < MASTER_SLOTS && !master->stopping; i++) {
		struct master_worker *w = &master->workers[i];

		if (!w->in_use || w->pid != 0 || w->respawn_at == 0)
			continue;
		if (w->respawn_at <= now) {
			if (master_spawn(master, i) != 0)
				w->respawn_at = now + 1;
			continue;
		}
		if (next == 0 || (unsigned)(w->respawn_at - now) < next)
			next = (unsigned)(w->respawn_at - now);
	}
	return next;
}

static void signal_where(struct master *master, int sig, bool draining_only)
{
	size_t i;

	for (i = 0; i < MASTER_SLOTS; i++) {
		const struct master_worker *w = &master->workers[i];

		if (w->pid > 0 && (w->draining || !draining_only))
			kill(w->pid, sig);
	}
}

void master_signal_workers(struct master *master, int sig)
{
	signal_where(master, sig, false);
}

void master_signal_draining(struct master *master, int sig)
{
	signal_where(master, sig, true);
}

size_t master_live_workers(const struct master *master)
{
	size_t i, live = 0;

	for (i = 0; master->workers != NULL && i < MASTER_SLOTS; i++)
		live += master->workers[i].pid > 0;
	return live;
}

void master_wait_workers(struct master *master, unsigned timeout)
{
	struct timespec tenth = {0, 100 * 1000 * 1000};
	unsigned i;

	for (i = 0; i < timeout * 10 && master_live_workers(master) > 0; i++) {
		nanosleep(&tenth, NULL);
		master_reap(master);
	}
	if (master_live_workers(master) == 0)
		return;
	log_msg(LOG_WARNING, "workers kill reason=\"still running after %u s\"",
	        timeout);
	master_signal_workers(master, SIGKILL);
	while (master_live_workers(master) > 0 && i++ < timeout * 20) {
		nanosleep(&tenth, NULL);
		master_reap(master);
	}
}
