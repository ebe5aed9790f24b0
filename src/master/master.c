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
#include "turnpike/tls.h"
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
		        "kernel old release=%s want=6.13 reason=\"older "
		        "kernels look up connected UDP sockets in one chain "
		        "per port, so the cost per packet grows with the "
		        "allocations\"",
		        u.release);
}

/* What a running master cannot change: its own files and identity. */
static const char *needs_restart(const struct conf *old,
                                 const struct conf *fresh)
{
	if (strcmp(old->state_dir, fresh->state_dir) != 0)
		return "state-dir";
	if (strcmp(old->pid_file, fresh->pid_file) != 0)
		return "pid-file";
	if ((old->run_user == NULL) != (fresh->run_user == NULL) ||
	    (old->run_user != NULL &&
	     strcmp(old->run_user, fresh->run_user) != 0))
		return "user-name";
	return NULL;
}

static void reload_refused(struct master *master, const char *why)
{
	log_msg(LOG_ERR, "reload refused error=%s", LOG_QUOTED(why));
	snprintf(master->last_reload_error, sizeof(master->last_reload_error),
	         "%s", why);
}

/* Settings that do not touch sockets: every worker re-reads the file
 * and swaps its configuration; allocations keep their sockets. */
static void reload_in_place(struct master *master, struct conf *fresh)
{
	master_rebase_listeners(master, master->conf, fresh);
	conf_free(master->conf);
	master->conf = fresh;
	master_signal_workers(master, SIGHUP);
	log_info("reloaded path=%s generation=%llu",
	         LOG_QUOTED(master->options->config_path),
	         (unsigned long long)master->generation);
}

/* SIGHUP (DESIGN.md section 7): a bad file changes nothing; listener or
 * worker-count changes start a new generation; the rest is applied in
 * place. Respawned workers start from the reloaded file. */
static void reload(struct master *master)
{
	struct conf *fresh = NULL;
	const char *key;
	char err[512];
	size_t count;

	/* The outcome goes into the next status snapshot, published at
	 * once, where turnpikectl reload waits for it. */
	master->reloads++;
	master->last_reload = time(NULL);
	master->status_time = 0;
	if (conf_load(master->options->config_path, &fresh, err, sizeof(err)) !=
	    0) {
		reload_refused(master, err);
		return;
	}
	if ((key = needs_restart(master->conf, fresh)) != NULL) {
		snprintf(err, sizeof(err), "%s: %s changed; it takes a restart",
		         fresh->path, key);
		conf_free(fresh);
		reload_refused(master, err);
		return;
	}
	/* A certificate or key the workers could not load: refused here,
	 * with the reason, rather than by each worker on its own. */
	if (tls_check(fresh, err, sizeof(err)) != 0) {
		conf_free(fresh);
		reload_refused(master, err);
		return;
	}
	count =
	    (size_t)(master->options->workers > 0 ? master->options->workers
	                                          : conf_worker_count(fresh));
	if (master_generation_needed(master, fresh, count) &&
	    master_start_generation(master, fresh, count) != 0) {
		conf_free(fresh);
		reload_refused(master, "cannot start a new generation of "
		                       "workers (see the log); the running "
		                       "ones stay");
		return;
	}
	if (master->conf != fresh)
		reload_in_place(master, fresh);
	master->last_reload_error[0] = '\0';
	log_set_level(master->conf->log_level);
}

/* Acts on the flags; returns false when the master should exit. */
static bool handle_flags(struct master *master)
{
	if (flag_reap) {
		flag_reap = 0;
		master_reap(master);
	}
	if (flag_terminate) {
		log_info("master stopping");
		master->stopping = true;
		master_signal_workers(master, SIGTERM);
		master_wait_workers(master, MASTER_STOP_SECONDS);
		return false;
	}
	if (flag_quit) {
		flag_quit = 0;
		if (!master->stopping)
			log_info("master draining timeout=%u",
			         master->conf->drain_timeout);
		master->stopping = true;
		master_drain_all(master);
	}
	if (flag_reload) {
		flag_reload = 0;
		/* A graceful stop drains every worker: no new generation. */
		if (master->stopping)
			log_msg(LOG_WARNING, "reload ignored reason=stopping");
		else
			reload(master);
	}
	if (flag_reopen) {
		flag_reopen = 0;
		if (log_reopen() != 0)
			log_warn("log reopen failed");
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
		master_drain_due(master);
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

/* What store_open converted, once, in the log: the operator should know
 * that users and quota overrides moved. */
static void log_migration(const struct store *store, const char *dir)
{
	struct store_migration m;

	store_migration_get(store, &m);
	if (m.from_version == 0)
		return;
	if (m.copied)
		log_info("store converted path=%s from-version=%u users=%zu "
		         "quota-overrides=%zu moved-to=durable",
		         LOG_QUOTED(dir), m.from_version, m.users, m.overrides);
	else
		log_msg(LOG_WARNING,
		        "store converted path=%s from-version=%u users=%zu "
		        "quota-overrides=%zu dropped=old-copies "
		        "reason=durable-already-filled",
		        LOG_QUOTED(dir), m.from_version, m.users, m.overrides);
}

static int setup(struct master *master, struct conf *conf)
{
	size_t count = master->worker_count;
	int err;

	master->workers = calloc(MASTER_SLOTS, sizeof(*master->workers));
	if (master->workers == NULL)
		return ENOMEM;
	/* Before anything is cleared: a second turnpiked must find the
	 * first one's state untouched. */
	err = master_lock_pid_file(conf->pid_file, &master->pid_fd);
	if (err == 0)
		err = master_check_listeners_free(master, conf);
	if (err != 0)
		return err;
	/* The master alone converts an older store: it runs before any
	 * worker, and nothing else writes while it does. */
	err = store_open(conf->state_dir, STORE_MIGRATE, &master->store);
	if (err != 0) {
		log_msg(LOG_ERR, "store open failed path=%s error=%s",
		        LOG_QUOTED(conf->state_dir),
		        LOG_QUOTED(store_strerror(err)));
		return err;
	}
	log_migration(master->store, conf->state_dir);
	/* Nothing can be live before the listeners exist. */
	err = store_clear_live(master->store);
	if (err == 0)
		err = shm_create(MASTER_SLOTS, master_rate_slots(conf),
		                 &master->shm);
	if (err == 0)
		err = auth_nonce_key_generate(&master->nonce_key);
	if (err == 0) {
		master_steer_open(master);
		err = master_drop_privileges(conf, master->steer != NULL);
		if (err == 0)
			master_steer_settle(master);
	}
	return err != 0 ? err : master_start_generation(master, conf, count);
}

static void teardown(struct master *master)
{
	master_close_listeners(master);
	net_steer_close(master->steer);
	free(master->workers);
	shm_destroy(&master->shm);
	store_close(master->store);
	if (master->pid_fd >= 0)
		master_remove_pid_file(master->conf->pid_file, master->pid_fd);
	conf_free(master->conf);
}

int master_run(struct conf *conf, const struct master_options *options)
{
	struct master master;
	sigset_t blocked;
	int err;

	memset(&master, 0, sizeof(master));
	master.options = options;
	master.started = time(NULL);
	master.pid_fd = -1;
	master.worker_count =
	    (size_t)(options->workers > 0 ? options->workers
	                                  : conf_worker_count(conf));
	log_set_process("master");
	warn_old_kernel();
	err = install_signals(&blocked);
	if (err == 0)
		err = setup(&master, conf);
	if (err != 0) {
		/* master_start_generation() took conf only if it succeeded. */
		if (master.conf == NULL)
			master.conf = conf;
		master.stopping = true;
		master_signal_workers(&master, SIGTERM);
		master_wait_workers(&master, MASTER_STOP_SECONDS);
		teardown(&master);
		return 1;
	}
	log_info("master running pid=%ld workers=%zu", (long)getpid(),
	         master.worker_count);
	cycle(&master);
	log_info("master stopped");
	teardown(&master);
	return 0;
}
