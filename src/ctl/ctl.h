/*
 * turnpikectl's own types, shared by the files of src/ctl/ only.
 *
 * turnpikectl reads the store (status, allocations, users), writes its
 * durable tables (users, quota overrides) and signals the master through
 * the pid file (DESIGN.md sections 1 and 6). It never links the master
 * or the worker: what it knows of them comes through the store.
 */
#ifndef TURNPIKE_CTL_H
#define TURNPIKE_CTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "turnpike/conf.h"
#include "turnpike/store.h"

/* Exit statuses, as turnpikectl(8) documents them. */
enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_ERROR = 1,
	CTL_EXIT_USAGE = 2,
	CTL_EXIT_NOT_RUNNING = 3,
};

/* A snapshot older than this means the master is gone. */
#define CTL_STATUS_STALE_SECONDS 5
/* How long reload and stop wait for the master. */
#define CTL_WAIT_SECONDS 10
#define CTL_DEFAULT_TTL  86400

struct ctl {
	const char *config_path;
	/* The parsed file; NULL when it has an error, and then state_dir
	 * and pid_file come from a plain reading of those two keys, so
	 * that reload, stop and status still reach the master. */
	struct conf *conf;
	char conf_error[512];
	char *state_dir, *pid_file; /* owned */
	bool json;
	bool prometheus;       /* counters --prometheus */
	const char *listen;    /* serve-metrics --listen */
	bool snapshot_no_wait; /* not even for a master just started */
	const char *user;      /* allocations --user */
	long ttl;              /* credentials --ttl; 0 = not given */
	char **args;           /* the command and its operands */
	int arg_count;
};

/* main.c */
/* "turnpikectl: " and the message on stderr; returns CTL_EXIT_ERROR. */
int ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* What ctl_error() said last (cut to its size), for serve-metrics to
 * answer with. */
#define CTL_LAST_ERROR_SIZE 512
extern char ctl_last_error[CTL_LAST_ERROR_SIZE];
int ctl_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Opens the state directory's store, with a clear message on failure:
 * returns CTL_EXIT_OK or CTL_EXIT_ERROR. */
int ctl_store_open(const struct ctl *ctl, unsigned flags, struct store **store);

/* control.c: the master, through the pid file and the snapshot. */
struct ctl_master {
	pid_t pid;
	struct store_status *status; /* owned; NULL when not running */
	char why[512];               /* why it is not running */
};
/*
 * Finds the running master: the pid file's pid alive and a snapshot of
 * it no older than CTL_STATUS_STALE_SECONDS (waiting a little for the
 * first one of a master that has just started). Returns CTL_EXIT_OK with
 * the store open read-only in *store (the caller closes it) and
 * master->status; CTL_EXIT_NOT_RUNNING with master->why; or
 * CTL_EXIT_ERROR (printed).
 */
int ctl_master_find(const struct ctl *ctl, struct store **store,
                    struct ctl_master *master);
void ctl_master_release(struct ctl_master *master);
int ctl_not_running(const struct ctl *ctl, const struct ctl_master *master);
/* The state-dir and pid-file keys of a file conf_load refused. */
int ctl_read_paths(struct ctl *ctl);
int ctl_cmd_reload(struct ctl *ctl);
int ctl_cmd_stop(struct ctl *ctl);

/* status.c */
int ctl_cmd_status(struct ctl *ctl);
/* The figures of every worker in the snapshot and of those that have
 * exited, summed. */
void ctl_status_total(const struct store_status *s,
                      struct store_status_worker *total);
/* The rate-limit levels' names, by STORE_RATE_LEVELS index. */
extern const char *const ctl_rate_level_names[STORE_RATE_LEVELS];
/* A command that takes no argument and shows the master's snapshot:
 * finds the master and calls show, or says why it is not running. */
int ctl_with_snapshot(struct ctl *ctl, const char *command,
                      int (*show)(const struct ctl *ctl,
                                  const struct store_status *status));
int ctl_cmd_allocations(struct ctl *ctl);

/* counters.c */
int ctl_cmd_counters(struct ctl *ctl);
/* The counters in Prometheus's text exposition format (0.0.4). */
void ctl_prometheus_write(FILE *out, const struct store_status *status);

/* serve.c: the same over HTTP until SIGTERM or SIGINT. */
#define CTL_METRICS_LISTEN "127.0.0.1:9645"
int ctl_cmd_serve_metrics(struct ctl *ctl);

/* users.c */
int ctl_cmd_users(struct ctl *ctl);
int ctl_cmd_quota(struct ctl *ctl);
/* revoke.c: revoke USER. */
int ctl_cmd_revoke(struct ctl *ctl);

/* credentials.c */
int ctl_cmd_credentials(struct ctl *ctl);

/* json.c: a writer of one JSON document, compact, on one line. Strings
 * are escaped; bytes that are not UTF-8 become U+FFFD. key is NULL for
 * an array element or the top-level value. */
struct json {
	FILE *out;
	bool comma; /* a value came before at this level */
};
void json_init(struct json *json, FILE *out);
void json_object_begin(struct json *json, const char *key);
void json_object_end(struct json *json);
void json_array_begin(struct json *json, const char *key);
void json_array_end(struct json *json);
void json_string(struct json *json, const char *key, const char *value);
void json_uint(struct json *json, const char *key, uint64_t value);
void json_int(struct json *json, const char *key, int64_t value);
void json_bool(struct json *json, const char *key, bool value);
void json_null(struct json *json, const char *key);
/* Ends the document with a newline. */
void json_finish(struct json *json);
/* True when s is well-formed UTF-8 (RFC 3629). */
bool ctl_utf8_valid(const char *s);

/* Shared formatting helpers (status.c). */
const char *ctl_format_duration(uint64_t seconds, char *buf, size_t size);
const char *ctl_format_time(uint64_t wall, char *buf, size_t size);

#endif
