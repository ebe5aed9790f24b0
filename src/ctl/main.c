/*
 * turnpikectl: command line, configuration, and the command table.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

struct command {
	const char *name;
	int (*run)(struct ctl *ctl);
	/* Needs the parsed file (realm, secrets, listeners, quotas); the
	 * others make do with state-dir and pid-file of a bad file. */
	bool needs_conf;
	/* Says nothing of a bad file: the master's answer names it. */
	bool quiet_conf_error;
};

static const struct command commands[] = {
    {"status", ctl_cmd_status, false, false},
    {"counters", ctl_cmd_counters, false, false},
    {"serve-metrics", ctl_cmd_serve_metrics, false, false},
    {"allocations", ctl_cmd_allocations, false, false},
    {"users", ctl_cmd_users, true, false},
    {"quota", ctl_cmd_quota, true, false},
    {"revoke", ctl_cmd_revoke, false, false},
    {"credentials", ctl_cmd_credentials, true, false},
    {"reload", ctl_cmd_reload, false, true},
    {"stop", ctl_cmd_stop, false, false},
};

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: turnpikectl [-c file] [--json] command [argument ...]\n"
	        "commands:\n"
	        "  status\n"
	        "  counters [--prometheus]\n"
	        "  serve-metrics [--listen host:port]\n"
	        "  allocations [--user name]\n"
	        "  users add|passwd|del name\n"
	        "  users list\n"
	        "  quota get|del user\n"
	        "  quota set user count\n"
	        "  revoke user\n"
	        "  credentials user [--ttl seconds]\n"
	        "  reload\n"
	        "  stop\n");
}

char ctl_last_error[CTL_LAST_ERROR_SIZE];

int ctl_error(const char *fmt, ...)
{
	va_list ap, copy;

	va_start(ap, fmt);
	va_copy(copy, ap);
	vsnprintf(ctl_last_error, sizeof(ctl_last_error), fmt, copy);
	va_end(copy);
	fputs("turnpikectl: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CTL_EXIT_ERROR;
}

int ctl_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("turnpikectl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	usage(stderr);
	return CTL_EXIT_USAGE;
}

int ctl_store_open(const struct ctl *ctl, unsigned flags, struct store **store)
{
	int err = store_open(ctl->state_dir, flags, store);

	switch (err) {
	case 0:
		return CTL_EXIT_OK;
	case ENOENT:
		return ctl_error("state directory %s does not exist (has "
		                 "turnpiked run with %s?)",
		                 ctl->state_dir, ctl->config_path);
	case EACCES:
	case EPERM:
		return ctl_error("state directory %s: %s (run turnpikectl as "
		                 "root or as the user turnpiked runs as)",
		                 ctl->state_dir, strerror(err));
	case EROFS:
		if ((flags & STORE_READ_ONLY) == 0)
			return ctl_error("state directory %s: a read-only file "
			                 "system",
			                 ctl->state_dir);
		return ctl_error("state directory %s: lock.mdb is on a "
		                 "read-only file system, where LMDB would read "
		                 "without taking a reader slot (under systemd, "
		                 "add the directory to the unit's "
		                 "ReadWritePaths=)",
		                 ctl->state_dir);
	case EPROTO:
		return ctl_error("state directory %s: %s (after an upgrade, "
		                 "start turnpiked once: it converts the store)",
		                 ctl->state_dir, store_strerror(err));
	default:
		return ctl_error("state directory %s: %s", ctl->state_dir,
		                 store_strerror(err));
	}
}

/* --ttl: whole seconds, 1 to 2^32 - 1. */
static int parse_ttl(const char *text, long *ttl)
{
	unsigned long long value;
	char *end;

	errno = 0;
	value = strtoull(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || text[0] == '-' ||
	    value == 0 || value > UINT32_MAX)
		return ctl_usage_error("--ttl wants 1 to %u seconds, not '%s'",
		                       UINT32_MAX, text);
	*ttl = (long)value;
	return CTL_EXIT_OK;
}

static int parse_options(int argc, char **argv, struct ctl *ctl)
{
	static const struct option options[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"json", no_argument, NULL, 'j'},
	    {"prometheus", no_argument, NULL, 'p'},
	    {"listen", required_argument, NULL, 'l'},
	    {"user", required_argument, NULL, 'u'},
	    {"ttl", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	int ch, rc;

	ctl->config_path = CONF_DEFAULT_PATH;
	while ((ch = getopt_long(argc, argv, "c:hV", options, NULL)) != -1) {
		switch (ch) {
		case 'c':
			ctl->config_path = optarg;
			break;
		case 'j':
			ctl->json = true;
			break;
		case 'p':
			ctl->prometheus = true;
			break;
		case 'l':
			ctl->listen = optarg;
			break;
		case 'u':
			ctl->user = optarg;
			break;
		case 't':
			if ((rc = parse_ttl(optarg, &ctl->ttl)) != CTL_EXIT_OK)
				return rc;
			break;
		case 'h':
			usage(stdout);
			exit(CTL_EXIT_OK);
		case 'V':
			printf("turnpikectl %s\n", PACKAGE_VERSION);
			exit(CTL_EXIT_OK);
		default:
			usage(stderr);
			return CTL_EXIT_USAGE;
		}
	}
	ctl->args = argv + optind;
	ctl->arg_count = argc - optind;
	if (ctl->arg_count == 0)
		return ctl_usage_error("no command given");
	return CTL_EXIT_OK;
}

static const struct command *find_command(const struct ctl *ctl)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, ctl->args[0]) == 0)
			return &commands[i];
	return NULL;
}

/* The options that belong to one command only. */
static int check_command_options(const struct ctl *ctl)
{
	if (ctl->user != NULL && strcmp(ctl->args[0], "allocations") != 0)
		return ctl_usage_error("--user goes with allocations only");
	if (ctl->ttl != 0 && strcmp(ctl->args[0], "credentials") != 0)
		return ctl_usage_error("--ttl goes with credentials only");
	if (ctl->prometheus && strcmp(ctl->args[0], "counters") != 0)
		return ctl_usage_error("--prometheus goes with counters only");
	if (ctl->listen != NULL && strcmp(ctl->args[0], "serve-metrics") != 0)
		return ctl_usage_error("--listen goes with serve-metrics only");
	if (ctl->json && strcmp(ctl->args[0], "serve-metrics") == 0)
		return ctl_usage_error("serve-metrics takes no --json");
	if (ctl->prometheus && ctl->json)
		return ctl_usage_error("--prometheus or --json, not both");
	return CTL_EXIT_OK;
}

static int load_config(struct ctl *ctl, const struct command *command)
{
	int rc;

	if (conf_load(ctl->config_path, &ctl->conf, ctl->conf_error,
	              sizeof(ctl->conf_error)) == 0) {
		ctl->state_dir = strdup(ctl->conf->state_dir);
		ctl->pid_file = strdup(ctl->conf->pid_file);
		if (ctl->state_dir == NULL || ctl->pid_file == NULL)
			return ctl_error("out of memory");
		return CTL_EXIT_OK;
	}
	ctl->conf = NULL;
	if (command->needs_conf)
		return ctl_error("%s", ctl->conf_error);
	if ((rc = ctl_read_paths(ctl)) != CTL_EXIT_OK)
		return rc;
	if (!command->quiet_conf_error)
		fprintf(stderr,
		        "turnpikectl: warning: %s (using its state-dir and "
		        "pid-file only)\n",
		        ctl->conf_error);
	return CTL_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct ctl ctl;
	const struct command *command;
	int rc;

	memset(&ctl, 0, sizeof(ctl));
	if ((rc = parse_options(argc, argv, &ctl)) != CTL_EXIT_OK)
		return rc;
	if ((command = find_command(&ctl)) == NULL)
		return ctl_usage_error("unknown command '%s'", ctl.args[0]);
	if ((rc = check_command_options(&ctl)) != CTL_EXIT_OK)
		return rc;
	rc = load_config(&ctl, command);
	if (rc == CTL_EXIT_OK)
		rc = command->run(&ctl);
	if (fflush(stdout) != 0 && rc == CTL_EXIT_OK)
		rc = ctl_error("standard output: %s", strerror(errno));
	conf_free(ctl.conf);
	free(ctl.state_dir);
	free(ctl.pid_file);
	return rc;
}
