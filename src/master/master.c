/*
 * The master cycle (nginx's ngx_master_process_cycle is the model): the
 * signals are blocked except inside sigsuspend(), their handlers only set
 * flags, and the loop acts on the flags.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "turnpike/log.h"
#include "master_private.h"

static volatile sig_atomic_t flag_reap, flag_terminate, flag_quit, flag_reload,
    flag_reopen, flag_alarm;

static void on_signal(int sig)
{
	switch (sig) {
	case SIGCHLD:
		flag_reap = 1;
		break;
	case SIGTERM:
	case SIGINT:
		flag_terminate = 1;
		break;
	case SIGQUIT:
		flag_quit = 1;
		break;
	case SIGHUP:
		flag_reload = 1;
		break;
	case SIGUSR1:
		flag_reopen = 1;
		break;
	case SIGALRM:
		flag_alarm = 1;
		break;
	}
}

static const int master_signals[] = {SIGCHLD, SIGTERM, SIGINT, SIGQUIT,
                                     SIGHUP,  SIGUSR1, SIGALRM};
#define MASTER_SIGNAL_COUNT (sizeof(master_signals) / sizeof(master_signals[0]))

static int install_signals(sigset_t *blocked)
{
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigemptyset(blocked);
	for (i = 0; i < MASTER_SIGNAL_COUNT; i++) {
		if (sigaction(master_signals[i], &sa, NULL) != 0)
			return errno;
		sigaddset(blocked, master_signals[i]);
	}
	signal(SIGPIPE, SIG_IGN);
	return sigprocmask(SIG_BLOCK, blocked, NULL) == 0 ? 0 : errno;
}

/* DESIGN.md section 2: before Linux 6.13 every connected UDP socket on a
 * shared port sits in one hash chain, and the per-packet lookup grows
 * with the allocations. */
static void warn_old_kernel(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	if (uname(&u) != 0 || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return;
	if (major < 6 || (major == 6 && minor < 13))
		log_msg(LOG_WARNING,
		        "kernel %s: Linux 6.13 or later is recommended; older "
		        "kernels look up connected UDP sockets in one chain "
		        "per port, so the cost per packet grows with the "
		        "allocations",
		        u.release);
}

/* SIGHUP: the new file is checked; settings that reach the workers need
 * the workers to reload (a later version). A bad file changes nothing. */
static void reload(struct master *master)
{
	struct conf *fresh = NULL;
	char err[512];

	/* The outcome goes into the next status snapshot, published at
	 * once, where turnpikectl reload waits for it. */
	master->reloads++;
	master->last_reload = time(NULL);
	master->status_time = 0;
	if (conf_load(master->options->config_path, &fresh, err, sizeof(err)) !=
	    0) {
		log_msg(LOG_ERR,
		        "reload refused, keeping the running "
		        "configuration: %s",
		        err);
		snprintf(master->last_reload_error,
		         sizeof(master->last_reload_error), "%s", err);
		return;
	}
	master->last_reload_error[0] = '\0';
	log_set_level(fresh->log_level);
	/* DESIGN.md section 7: each worker re-reads the file and swaps its
	 * configuration; its allocations keep their sockets. Listener and
	 * worker-count changes need a new generation (not in this version). */
	master_signal_workers(master, SIGHUP);
	log_info(
	    "reloaded %s: the workers apply users, secrets, quotas, "
	    "peer policy, rate limits, lifetimes and log level; listener and "
	    "worker-count changes need a restart",
	    master->options->config_path);
	conf_free(fresh);
}

/* Acts on the flags; returns false when the master should exit. */
static bool handle_flags(struct master *master)
{
	if (flag_reap) {
		flag_reap = 0;
		master_reap(master);
	}
	if (flag_terminate) {
		log_info("stopping");
		master->stopping = true;
		master_signal_workers(master, SIGTERM);
		master_wait_workers(master, MASTER_STOP_SECONDS);
		return false;
	}
	if (flag_quit) {
		flag_quit = 0;
		if (!master->stopping)
			log_info("graceful stop: workers drain their "
			         "allocations");
		master->stopping = true;
		master_signal_workers(master, SIGQUIT);
	}
	if (flag_reload) {
		flag_reload = 0;
		reload(master);
	}
	if (flag_reopen) {
		flag_reopen = 0;
		if (log_reopen() != 0)
			log_warn("%s: cannot reopen the log", __func__);
		master_signal_workers(master, SIGUSR1);
	}
	return !(master->stopping && master_live_workers(master) == 0);
}

static void cycle(struct master *master)
{
	sigset_t wait_set;
	unsigned next;

	sigemptyset(&wait_set);
	for (;;) {
		flag_alarm = 0;
		if (time(NULL) != master->status_time)
			master_publish_status(master);
		next = master_respawn_due(master);
		/* Wake for the next respawn, and at least once a second for
		 * the status snapshot. */
		if (next == 0 || next > MASTER_STATUS_SECONDS)
			next = MASTER_STATUS_SECONDS;
		alarm(next);
		if (!flag_reap && !flag_terminate && !flag_quit &&
		    !flag_reload && !flag_reopen)
			sigsuspend(&wait_set);
		if (!handle_flags(master))
			break;
	}
}

/* Slots of the shared user-bucket table, fixed before fork: two per
 * allocation (one per direction) and twice that for open addressing to
 * stay short (ratelimit.h). Without a total-quota, room for 65,536
 * allocations. Untouched slots cost no memory. */
static size_t master_rate_slots(const struct conf *conf)
{
	size_t allocations = conf->total_quota != 0 ? conf->total_quota : 65536;

	return 4 * allocations;
}

static int setup(struct master *master)
{
	size_t i;
	int err;

	err = store_open(master->conf->state_dir, 0, &master->store);
	if (err != 0) {
		log_msg(LOG_ERR, "state-dir %s: %s", master->conf->state_dir,
		        store_strerror(err));
		return err;
	}
	/* Nothing can be live before the listeners exist. */
	err = store_clear_live(master->store);
	if (err == 0)
		err = shm_create(master->worker_count,
		                 master_rate_slots(master->conf), &master->shm);
	if (err == 0)
		err = auth_nonce_key_generate(&master->nonce_key);
	if (err != 0)
		return err;
	master->workers =
	    calloc(master->worker_count, sizeof(*master->workers));
	if (master->workers == NULL)
		return ENOMEM;
	err = master_write_pid_file(master->conf->pid_file);
	if (err != 0) {
		log_msg(LOG_ERR, "pid-file %s: %s", master->conf->pid_file,
		        strerror(err));
		return err;
	}
	err = master_drop_privileges(master->conf);
	if (err == 0)
		err = master_bind_listeners(master);
	for (i = 0; err == 0 && i < master->worker_count; i++)
		err = master_spawn(master, i);
	return err;
}

static void teardown(struct master *master)
{
	master_close_listeners(master);
	free(master->workers);
	shm_destroy(&master->shm);
	store_close(master->store);
	master_remove_pid_file(master->conf->pid_file);
	conf_free(master->conf);
}

int master_run(struct conf *conf, const struct master_options *options)
{
	struct master master;
	sigset_t blocked;
	int err;

	memset(&master, 0, sizeof(master));
	master.conf = conf;
	master.options = options;
	master.started = time(NULL);
	master.generation = 1;
	master.worker_count =
	    (size_t)(options->workers > 0 ? options->workers
	                                  : conf_worker_count(conf));
	log_set_process("master");
	warn_old_kernel();
	err = install_signals(&blocked);
	if (err == 0)
		err = setup(&master);
	if (err != 0) {
		master.stopping = true;
		master_signal_workers(&master, SIGTERM);
		master_wait_workers(&master, MASTER_STOP_SECONDS);
		teardown(&master);
		return 1;
	}
	log_info("master pid %ld running %zu workers", (long)getpid(),
	         master.worker_count);
	cycle(&master);
	log_info("stopped");
	teardown(&master);
	return 0;
}
