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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "turnpike/log.h"
#include "master_private.h"

/* In the child: undo the master's signal set-up; libevent takes over. */
static void reset_signals(void)
{
	static const int signals[] = {SIGCHLD, SIGTERM, SIGINT, SIGQUIT,
	                              SIGHUP,  SIGUSR1, SIGALRM};
	sigset_t none;
	size_t i;

	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		signal(signals[i], SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static void __attribute__((noreturn))
run_child(struct master *master, size_t slot)
{
	struct master_worker *w = &master->workers[slot];
	struct worker_params params;
	char name[32];
	int err;

	reset_signals();
	snprintf(name, sizeof(name), "worker %zu", slot);
	log_set_process(name);
	master_close_other_listeners(master, slot);
	/* An MDB_env must not cross fork(): the worker opens its own. */
	memset(&master->shm.workers[slot], 0,
	       sizeof(master->shm.workers[slot]));
	params = (struct worker_params){
	    .index = (unsigned)slot,
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
	pid_t pid;

	pid = fork();
	if (pid < 0) {
		log_warn("%s: fork", __func__);
		return errno;
	}
	if (pid == 0)
		run_child(master, slot);
	w->pid = pid;
	w->started = time(NULL);
	w->respawn_at = 0;
	log_info("worker %zu started, pid %ld", slot, (long)pid);
	return 0;
}

static struct master_worker *slot_of(struct master *master, pid_t pid,
                                     size_t *index)
{
	size_t i;

	for (i = 0; i < master->worker_count; i++) {
		if (master->workers[i].pid == pid) {
			*index = i;
			return &master->workers[i];
		}
	}
	return NULL;
}

static void log_death(size_t slot, pid_t pid, int status, bool stopping)
{
	if (WIFEXITED(status) && (WEXITSTATUS(status) == 0 || stopping))
		log_info("worker %zu (pid %ld) exited with status %d", slot,
		         (long)pid, WEXITSTATUS(status));
	else if (WIFEXITED(status))
		log_msg(LOG_ERR, "worker %zu (pid %ld) exited with status %d",
		        slot, (long)pid, WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		log_msg(stopping ? LOG_INFO : LOG_ERR,
		        "worker %zu (pid %ld) killed by signal %d (%s)", slot,
		        (long)pid, WTERMSIG(status),
		        strsignal(WTERMSIG(status)));
}

/* DESIGN.md section 4: the dead worker's allocations leave the store in
 * one transaction and their quota is free again. */
static void clean_after(struct master *master, size_t slot)
{
	size_t removed = 0;
	int err, dead = 0;

	memset(&master->shm.workers[slot], 0,
	       sizeof(master->shm.workers[slot]));
	/* Its users' rate buckets may be taken over by other users now. */
	if (slot < RL_USER_MAX_WORKERS)
		rl_user_table_forget_worker(master->shm.rate_users,
		                            (unsigned)slot);
	err = store_worker_purge(master->store, (uint32_t)slot, &removed);
	if (err != 0)
		log_msg(LOG_ERR,
		        "worker %zu: cannot remove its allocations: %s", slot,
		        store_strerror(err));
	else if (removed > 0)
		log_info("worker %zu: removed %zu allocations", slot, removed);
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
		log_death(slot, pid, status, master->stopping);
		w->pid = 0;
		clean_after(master, slot);
		if (!master->stopping)
			schedule_respawn(w, time(NULL));
	}
}

unsigned master_respawn_due(struct master *master)
{
	time_t now = time(NULL);
	unsigned next = 0;
	size_t i;

	for (i = 0; i < master->worker_count && !master->stopping; i++) {
		struct master_worker *w = &master->workers[i];

		if (w->pid != 0 || w->respawn_at == 0)
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

void master_signal_workers(struct master *master, int sig)
{
	size_t i;

	for (i = 0; i < master->worker_count; i++) {
		if (master->workers[i].pid > 0)
			kill(master->workers[i].pid, sig);
	}
}

size_t master_live_workers(const struct master *master)
{
	size_t i, live = 0;

	for (i = 0; i < master->worker_count; i++)
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
	log_msg(LOG_WARNING, "workers still running after %u s; killing them",
	        timeout);
	master_signal_workers(master, SIGKILL);
	while (master_live_workers(master) > 0 && i++ < timeout * 20) {
		nanosleep(&tenth, NULL);
		master_reap(master);
	}
}
