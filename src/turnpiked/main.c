/*
 * turnpiked: command line, configuration, then the process model.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "turnpike/conf.h"
#include "turnpike/log.h"
#include "turnpike/master.h"
#include "turnpike/net.h"
#include "turnpike/tls.h"

struct options {
	const char *config_path;
	bool foreground;
	bool check_only;
	long workers; /* -1 = from the file */
};

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: turnpiked [-ftV] [-c file] [-w workers]\n"
	        "  -c, --config file    configuration file (default %s)\n"
	        "  -f, --foreground     stay in the foreground, log to stderr\n"
	        "  -t, --test           check the configuration and exit\n"
	        "  -w, --workers n      worker processes, overriding the file\n"
	        "  -V, --version        print the version and exit\n",
	        CONF_DEFAULT_PATH);
}

static int parse_options(int argc, char **argv, struct options *options)
{
	static const struct option long_options[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"foreground", no_argument, NULL, 'f'},
	    {"test", no_argument, NULL, 't'},
	    {"workers", required_argument, NULL, 'w'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int ch;
	char *end;

	options->config_path = CONF_DEFAULT_PATH;
	options->workers = -1;
	while ((ch = getopt_long(argc, argv, "c:fhtVw:", long_options, NULL)) !=
	       -1) {
		switch (ch) {
		case 'c':
			options->config_path = optarg;
			break;
		case 'f':
			options->foreground = true;
			break;
		case 't':
			options->check_only = true;
			break;
		case 'V':
			printf("turnpiked %s\n", PACKAGE_VERSION);
			exit(0);
		case 'w':
			errno = 0;
			options->workers = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' ||
			    options->workers < 1 ||
			    options->workers > CONF_WORKERS_MAX) {
				fprintf(stderr,
				        "turnpiked: -w wants 1 to %d workers, "
				        "not '%s'\n",
				        CONF_WORKERS_MAX, optarg);
				return EINVAL;
			}
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return EINVAL;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EINVAL;
	}
	return 0;
}

static int open_log(const struct conf *conf, bool foreground)
{
	enum log_target_kind target = LOG_TARGET_SYSLOG;

	if (foreground || conf->log_target == CONF_LOG_STDERR)
		target = LOG_TARGET_STDERR;
	else if (conf->log_target == CONF_LOG_FILE)
		target = LOG_TARGET_FILE;
	return log_open("turnpiked", target, conf->log_file, conf->log_level);
}

/* Without -f: detach from the terminal (systemd runs us with -f). */
static int daemonize(void)
{
	if (daemon(0, 0) != 0) {
		fprintf(stderr, "turnpiked: daemon: %s\n", strerror(errno));
		return errno;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options options = {0};
	struct master_options master_options;
	struct conf *conf = NULL;
	char err_text[512];
	int err;

	if (parse_options(argc, argv, &options) != 0)
		return 1;
	err = conf_load(options.config_path, &conf, err_text, sizeof(err_text));
	if (err != 0) {
		fprintf(stderr, "turnpiked: %s\n", err_text);
		return 1;
	}
	if (options.check_only) {
		/* -t also tries the certificate, key and ciphers of tls://
		 * listeners, as the start would. */
		if (tls_check(conf, err_text, sizeof(err_text)) != 0) {
			fprintf(stderr, "turnpiked: %s\n", err_text);
			conf_free(conf);
			return 1;
		}
		printf("turnpiked: %s: configuration OK\n",
		       options.config_path);
		conf_free(conf);
		return 0;
	}
	if (!options.foreground && daemonize() != 0)
		return 1;
	if (open_log(conf, options.foreground) != 0)
		fprintf(stderr, "turnpiked: cannot open log file %s\n",
		        conf->log_file);
	/* DESIGN.md section 2: two descriptors per UDP allocation. */
	net_raise_nofile();
	master_options = (struct master_options){
	    .config_path = options.config_path,
	    .foreground = options.foreground,
	    .workers = options.workers > 0 ? options.workers : 0,
	};
	return master_run(conf, &master_options);
}
