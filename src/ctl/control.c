/*
 * The master, seen from outside: its pid file, the status snapshot it
 * publishes in the store once a second, and the signals that reload or
 * stop it.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"

/* Polling interval while waiting for the master. */
#define POLL_NANOSECONDS (100 * 1000 * 1000)
/* How long a master that has just started gets to publish its first
 * snapshot. */
#define FIRST_STATUS_POLLS 20

static void pause_briefly(void)
{
	struct timespec tenth = {0, POLL_NANOSECONDS};

	nanosleep(&tenth, NULL);
}

/* Alive and not a zombie: a master that has exited stays in the process
 * table until its parent reaps it. */
static bool process_alive(pid_t pid)
{
	char path[64], text[512], *state;
	FILE *f;
	size_t len;

	if (kill(pid, 0) != 0 && errno != EPERM)
		return false;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return errno != ENOENT;
	len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[len] = '\0';
	/* "pid (comm) state ...": comm may hold anything, so the state is
	 * after the last ')'. */
	state = strrchr(text, ')');
	return state == NULL || state[1] == '\0' || state[2] != 'Z';
}

/* Returns 0, ENOENT (no pid file), EINVAL (no pid in it) or errno. */
static int read_pid_file(const char *path, pid_t *pid)
{
	char text[32], *end;
	long value;
	FILE *f;
	size_t len;

	if ((f = fopen(path, "r")) == NULL)
		return errno;
	len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[len] = '\0';
	errno = 0;
	value = strtol(text, &end, 10);
	if (errno != 0 || end == text || (*end != '\n' && *end != '\0') ||
	    value <= 1 || value > INT32_MAX)
		return EINVAL;
	*pid = (pid_t)value;
	return 0;
}

/* The pid file's master, alive. Returns CTL_EXIT_OK,
 * CTL_EXIT_NOT_RUNNING with why, or CTL_EXIT_ERROR (printed). */
static int find_pid(const struct ctl *ctl, struct ctl_master *master)
{
	int err = read_pid_file(ctl->pid_file, &master->pid);

	if (err == ENOENT) {
		snprintf(master->why, sizeof(master->why), "no pid file %s",
		         ctl->pid_file);
		return CTL_EXIT_NOT_RUNNING;
	}
	if (err == EINVAL)
		return ctl_error("pid file %s holds no process id",
		                 ctl->pid_file);
	if (err != 0)
		return ctl_error("pid file %s: %s", ctl->pid_file,
		                 strerror(err));
	if (!process_alive(master->pid)) {
		snprintf(master->why, sizeof(master->why),
		         "pid %ld of %s is not running", (long)master->pid,
		         ctl->pid_file);
		return CTL_EXIT_NOT_RUNNING;
	}
	return CTL_EXIT_OK;
}

static uint64_t age_of(const struct store_status *status)
{
	uint64_t now = (uint64_t)time(NULL);

	/* A clock set back makes a snapshot from the future: as old. */
	return now >= status->time ? now - status->time : status->time - now;
}

static bool fresh_for(const struct store_status *status, pid_t pid)
{
	return status->master_pid == pid &&
	       age_of(status) <= CTL_STATUS_STALE_SECONDS;
}

/* Why the snapshot does not show a running master. */
static void explain_stale(const struct ctl *ctl, struct ctl_master *master,
                          int err)
{
	const struct store_status *s = master->status;

	if (err == ENOENT)
		snprintf(master->why, sizeof(master->why),
		         "pid %ld is alive but has published no status in %s",
		         (long)master->pid, ctl->state_dir);
	else if (s->master_pid != master->pid)
		snprintf(master->why, sizeof(master->why),
		         "pid file %s names pid %ld, but the status in %s is "
		         "from pid %ld",
		         ctl->pid_file, (long)master->pid, ctl->state_dir,
		         (long)s->master_pid);
	else
		snprintf(master->why, sizeof(master->why),
		         "the status of pid %ld in %s is %llu s old (a "
		         "running master renews it every second)",
		         (long)master->pid, ctl->state_dir,
		         (unsigned long long)age_of(s));
}

static int find_status(const struct ctl *ctl, struct store *store,
                       struct ctl_master *master)
{
	int err = 0, i;

	master->status = calloc(1, sizeof(*master->status));
	if (master->status == NULL)
		return ctl_error("out of memory");
	for (i = 0; i < FIRST_STATUS_POLLS; i++) {
		err = store_status_get(store, master->status);
		if (err != 0 && err != ENOENT) {
			free(master->status);
			master->status = NULL;
			return ctl_error("state directory %s: %s",
			                 ctl->state_dir, store_strerror(err));
		}
		if (err == 0 && fresh_for(master->status, master->pid))
			return CTL_EXIT_OK;
		/* A server answers at once; a command may wait for a master
		 * that has just started. */
		if (ctl->snapshot_no_wait || !process_alive(master->pid))
			break;
		pause_briefly();
	}
	explain_stale(ctl, master, err);
	free(master->status);
	master->status = NULL;
	return CTL_EXIT_NOT_RUNNING;
}

int ctl_master_find(const struct ctl *ctl, struct store **store,
                    struct ctl_master *master)
{
	int rc;

	*store = NULL;
	memset(master, 0, sizeof(*master));
	if ((rc = find_pid(ctl, master)) != CTL_EXIT_OK ||
	    (rc = ctl_store_open(ctl, STORE_READ_ONLY, store)) != CTL_EXIT_OK)
		return rc;
	if ((rc = find_status(ctl, *store, master)) != CTL_EXIT_OK) {
		store_close(*store);
		*store = NULL;
	}
	return rc;
}

void ctl_master_release(struct ctl_master *master)
{
	free(master->status);
	master->status = NULL;
}

int ctl_not_running(const struct ctl *ctl, const struct ctl_master *master)
{
	struct json json;

	fprintf(stderr, "turnpikectl: turnpiked is not running: %s\n",
	        master->why);
	if (ctl->json) {
		json_init(&json, stdout);
		json_object_begin(&json, NULL);
		json_bool(&json, "running", false);
		json_string(&json, "reason", master->why);
		json_object_end(&json);
		json_finish(&json);
	}
	return CTL_EXIT_NOT_RUNNING;
}

/* One value of a `key = value` line, as conf.c reads it: blanks around,
 * a '#' after a blank starts a comment. */
static char *line_value(char *line, const char *key)
{
	size_t key_len = strlen(key);
	char *value, *end, *p;

	line += strspn(line, " \t");
	if (strncmp(line, key, key_len) != 0)
		return NULL;
	value = line + key_len + strspn(line + key_len, " \t");
	if (*value++ != '=')
		return NULL;
	value += strspn(value, " \t");
	for (p = value; *p != '\0'; p++)
		if (*p == '#' && p > value && (p[-1] == ' ' || p[-1] == '\t'))
			*p = '\0';
	end = value + strcspn(value, "\r\n");
	while (end > value && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*end = '\0';
	return *value != '\0' ? value : NULL;
}

static int set_path(char **field, const char *value)
{
	char *copy = strdup(value);

	if (copy == NULL)
		return ctl_error("out of memory");
	free(*field);
	*field = copy;
	return CTL_EXIT_OK;
}

int ctl_read_paths(struct ctl *ctl)
{
	char line[4096], *value;
	FILE *f;
	int rc = CTL_EXIT_OK;

	if ((f = fopen(ctl->config_path, "r")) == NULL)
		return ctl_error("%s", ctl->conf_error);
	/* conf.c's defaults. */
	if (set_path(&ctl->state_dir, LOCALSTATEDIR "/lib/turnpike") != 0 ||
	    set_path(&ctl->pid_file, RUNSTATEDIR "/turnpike/turnpiked.pid") !=
	        0)
		rc = CTL_EXIT_ERROR;
	while (rc == CTL_EXIT_OK && fgets(line, sizeof(line), f) != NULL) {
		if ((value = line_value(line, "state-dir")) != NULL)
			rc = set_path(&ctl->state_dir, value);
		else if ((value = line_value(line, "pid-file")) != NULL)
			rc = set_path(&ctl->pid_file, value);
	}
	fclose(f);
	return rc;
}

/* Signals the running master; returns CTL_EXIT_OK or an error. */
static int signal_master(pid_t pid, int sig)
{
	int err;

	if (kill(pid, sig) == 0)
		return CTL_EXIT_OK;
	err = errno;
	return ctl_error("cannot signal turnpiked (pid %ld): %s%s", (long)pid,
	                 strerror(err),
	                 err == EPERM ? " (run turnpikectl as root or as "
	                                "the user turnpiked runs as)"
	                              : "");
}

/* Waits for a snapshot with more reloads than before. */
static int wait_reload(const struct ctl *ctl, struct store *store,
                       struct ctl_master *master, uint64_t before)
{
	int i, err;

	for (i = 0; i < CTL_WAIT_SECONDS * 10; i++) {
		pause_briefly();
		err = store_status_get(store, master->status);
		if (err != 0 && err != ENOENT)
			return ctl_error("state directory %s: %s",
			                 ctl->state_dir, store_strerror(err));
		if (err == 0 && master->status->master_pid == master->pid &&
		    master->status->reloads > before)
			return CTL_EXIT_OK;
		if (!process_alive(master->pid))
			return ctl_error(
			    "turnpiked (pid %ld) exited during the "
			    "reload",
			    (long)master->pid);
	}
	return ctl_error("turnpiked (pid %ld) did not report the reload "
	                 "within %d s",
	                 (long)master->pid, CTL_WAIT_SECONDS);
}

int ctl_cmd_reload(struct ctl *ctl)
{
	struct ctl_master master;
	struct store *store = NULL;
	int rc;

	if (ctl->arg_count != 1)
		return ctl_usage_error("reload takes no argument");
	rc = ctl_master_find(ctl, &store, &master);
	if (rc == CTL_EXIT_NOT_RUNNING)
		rc = ctl_not_running(ctl, &master);
	if (rc == CTL_EXIT_OK)
		rc = signal_master(master.pid, SIGHUP);
	if (rc == CTL_EXIT_OK)
		rc = wait_reload(ctl, store, &master, master.status->reloads);
	if (rc == CTL_EXIT_OK && master.status->last_reload_error[0] != '\0')
		rc = ctl_error("reload refused, turnpiked keeps its running "
		               "configuration: %s",
		               master.status->last_reload_error);
	else if (rc == CTL_EXIT_OK)
		printf("turnpiked (pid %ld) reloaded %s\n", (long)master.pid,
		       master.status->config_path);
	ctl_master_release(&master);
	store_close(store);
	return rc;
}

int ctl_cmd_stop(struct ctl *ctl)
{
	struct ctl_master master;
	int rc, i;

	if (ctl->arg_count != 1)
		return ctl_usage_error("stop takes no argument");
	memset(&master, 0, sizeof(master));
	if ((rc = find_pid(ctl, &master)) == CTL_EXIT_NOT_RUNNING)
		return ctl_not_running(ctl, &master);
	if (rc == CTL_EXIT_OK)
		rc = signal_master(master.pid, SIGTERM);
	if (rc != CTL_EXIT_OK)
		return rc;
	for (i = 0; i < CTL_WAIT_SECONDS * 10 && process_alive(master.pid); i++)
		pause_briefly();
	if (process_alive(master.pid))
		return ctl_error("turnpiked (pid %ld) still runs %d s after "
		                 "SIGTERM",
		                 (long)master.pid, CTL_WAIT_SECONDS);
	printf("turnpiked (pid %ld) stopped\n", (long)master.pid);
	return CTL_EXIT_OK;
}
