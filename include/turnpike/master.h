/*
 * master: the process that binds, forks and supervises (DESIGN.md section
 * 1). It does no packet work: it opens the store and clears its live
 * tables, creates the shared memory, binds one listener socket per worker
 * per `listen` entry with SO_REUSEPORT, forks the workers, writes the pid
 * file, and then waits for signals whose handlers only set flags.
 */
#ifndef TURNPIKE_MASTER_H
#define TURNPIKE_MASTER_H

#include <stdbool.h>

#include "turnpike/conf.h"

struct master_options {
	const char *config_path;
	bool foreground; /* -f: no daemon(), log to stderr */
	long workers;    /* -w N, or 0 for the file's setting */
};

/*
 * Runs until SIGTERM, SIGINT or the end of a graceful stop (SIGQUIT).
 * Takes ownership of conf. Returns the process exit status.
 */
int master_run(struct conf *conf, const struct master_options *options);

#endif
