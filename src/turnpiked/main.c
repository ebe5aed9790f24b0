/*
 * turnpiked: command line, configuration, then the process model.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "turnpike/auth.h"
#include "turnpike/conf.h"
#include "turnpike/log.h"
#include "turnpike/metrics.h"
#include "turnpike/net.h"
#include "turnpike/worker.h"

struct options {
	const char *config_path;
	bool foreground;
	bool check_only;
	long workers; /* -1 = from the file */
};

static void usage(FILE *out)
{
	fprintf(out, "usage: turnpiked [-ftV] [-c file] [-w workers]\n");
}

static int parse_options(int argc, char **argv, struct options *options)
{
	int ch;
	char *end;

	options->config_path = CONF_DEFAULT_PATH;
	options->workers = -1;
	while ((ch = getopt(argc, argv, "c:fhtVw:")) != -1) {
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
			    options->workers < 1 || options->workers > 1024) {
				fprintf(
				    stderr,
				    "turnpiked: -w wants 1 to 1024 workers, "
				    "not '%s'\n",
				    optarg);
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

/* Binds one UDP socket per listen entry (the master's job; with one
 * worker the process does both). */
static int bind_listeners(const struct conf *conf,
                          struct worker_listener_fd *fds, size_t *count)
{
	struct net_udp_options options = {
	    .rcvbuf = conf->listener_rcvbuf,
	    .sndbuf = conf->listener_sndbuf,
	    .reuseport = true,
	    .v6only = true,
	};
	char name[NET_ADDRSTRLEN];
	size_t i;
	int err;

	*count = 0;
	for (i = 0; i < conf->listen_count; i++) {
		const struct conf_listen *listen = &conf->listens[i];

		if (listen->transport != CONF_TRANSPORT_UDP) {
			log_warnx("%s: %s listeners are not served yet; "
			          "skipping %s",
			          __func__,
			          listen->transport == CONF_TRANSPORT_TCP
			              ? "tcp"
			              : "tls",
			          net_addr_format(
			              (const struct sockaddr *)&listen->addr,
			              name, sizeof(name)));
			continue;
		}
		err = net_udp_bind((const struct sockaddr *)&listen->addr,
		                   listen->addr_len, &options, &fds[*count].fd);
		if (err != 0) {
			log_warnx("cannot listen on udp://%s: %s",
			          net_addr_format(
			              (const struct sockaddr *)&listen->addr,
			              name, sizeof(name)),
			          strerror(err));
			return err;
		}
		fds[*count].listen = listen;
		log_info("listening on udp://%s",
		         net_addr_format((const struct sockaddr *)&listen->addr,
		                         name, sizeof(name)));
		(*count)++;
	}
	return *count > 0 ? 0 : ENOENT;
}

static int serve(const struct conf *conf)
{
	struct worker_listener_fd *fds;
	struct metrics_worker metrics;
	struct auth_nonce_key nonce_key;
	struct worker_params params;
	size_t count;
	int err;

	fds = calloc(conf->listen_count, sizeof(*fds));
	if (fds == NULL)
		return ENOMEM;
	err = auth_nonce_key_generate(&nonce_key);
	if (err == 0)
		err = bind_listeners(conf, fds, &count);
	if (err == 0) {
		memset(&metrics, 0, sizeof(metrics));
		params = (struct worker_params){
		    .index = 0,
		    .conf = conf,
		    .listeners = fds,
		    .listener_count = count,
		    .metrics = &metrics,
		    .nonce_key = &nonce_key,
		};
		err = worker_run(&params);
	}
	free(fds);
	return err;
}

int main(int argc, char **argv)
{
	struct options options = {0};
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
		printf("turnpiked: %s: configuration OK\n",
		       options.config_path);
		conf_free(conf);
		return 0;
	}
	if (open_log(conf, options.foreground) != 0)
		fprintf(stderr, "turnpiked: cannot open log file %s\n",
		        conf->log_file);
	net_raise_nofile();
	err = serve(conf);
	conf_free(conf);
	return err == 0 ? 0 : 1;
}
