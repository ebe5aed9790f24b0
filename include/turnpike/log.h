/*
 * log: one line per event: a short event name, then key=value fields.
 *
 *   worker started slot=1 pid=123 generation=2
 *   reload refused error="/etc/turnpike/turnpike.conf:7: unknown key 'relm'"
 *
 * The event name is one to three lowercase words (the subject first:
 * "worker exited", "pid-file locked"); keys are lowercase words joined by
 * '-'. A value that is empty or holds a blank, '"', '=' or a control
 * character is written in double quotes, with '"' and '\' escaped by a
 * '\' (log_quote(), LOG_QUOTED()); a value that comes from outside (a
 * path, an error text, anything a client sent) always goes through it.
 *
 * log_warn() appends error="strerror(errno)"; log_warnx() does not; both
 * log at LOG_ERR, as in OpenBSD (use log_msg(LOG_WARNING, ...) for a
 * warning). fatal() (with the error field) and fatalx() log at LOG_CRIT
 * and exit(1). Lines caused by clients go through log_limited() so that
 * a flood cannot fill the disk; the next line that passes carries
 * suppressed=N. No function changes errno. Control characters in a
 * message are written as '?'. Never called on the packet path.
 *
 * On stderr and in a file a line reads
 *   2026-11-22T04:10:00.123Z turnpiked[1234] info worker 3: EVENT FIELDS
 * (UTC time, ident, pid, level name as in log_level_parse() plus emerg,
 * alert and crit, then the process name of log_set_process() if any).
 * Before log_open() lines go to stderr at level info.
 */
#ifndef TURNPIKE_LOG_H
#define TURNPIKE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syslog.h>

enum log_target_kind {
	LOG_TARGET_SYSLOG,
	LOG_TARGET_STDERR,
	LOG_TARGET_FILE,
};

/* Opens the log. ident is the program name; file is used for
 * LOG_TARGET_FILE. Returns 0 or an errno (the file could not be opened; the
 * log then goes to stderr). */
int log_open(const char *ident, enum log_target_kind target, const char *file,
             int level);
/* Reopens a log file after rotation (SIGUSR1). Returns 0 or an errno. */
int log_reopen(void);
void log_set_level(int level);
int log_get_level(void);
/* Parses "error", "warning", "notice", "info", "debug". Returns the level
 * or -1. */
int log_level_parse(const char *name);
/* A prefix such as "worker 3" put on every line of this process. */
void log_set_process(const char *name);

/*
 * Writes value as a field value into buf (size bytes) and returns buf:
 * as it is, or quoted and escaped as said above. A value too long for buf
 * is cut, still inside its quotes. NULL is written as "".
 */
const char *log_quote(const char *value, char *buf, size_t size);
#define LOG_VALUE_MAX 512
/* log_quote() into a buffer that lives until the end of the enclosing
 * statement's block: log_info("x path=%s", LOG_QUOTED(path)). */
#define LOG_QUOTED(value)                                                      \
	log_quote((value), (char[LOG_VALUE_MAX]){0}, LOG_VALUE_MAX)

void log_msg(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/*
 * A token bucket for log lines about clients: at most `burst` lines, then
 * one per `interval_ms`. log_limited() drops the line (and counts it as
 * suppressed) when the bucket is empty; the next line that passes says
 * how many were suppressed. Lines below the log level spend no token.
 */
struct log_limit {
	uint64_t next_ms;
	uint32_t tokens;
	uint32_t burst;
	uint32_t interval_ms;
	uint64_t suppressed;
};
#define LOG_LIMIT_INIT(burst, interval_ms)                                     \
	{                                                                      \
		0, (burst), (burst), (interval_ms), 0                          \
	}
void log_limited(struct log_limit *limit, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* log_limited() in two steps, for a line whose fields cost something to
 * format: log_limit_take() says whether the line is logged at all (the
 * level, then the bucket, a token spent); only then are the fields
 * formatted and log_limit_write() writes it, with the suppressed count. */
bool log_limit_take(struct log_limit *limit, int level);
void log_limit_write(struct log_limit *limit, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The bucket of log_limited() at a given CLOCK_MONOTONIC time in
 * milliseconds: true (and a token spent) if a line may pass, else false
 * and the line counted in limit->suppressed. For tests with a fake clock. */
bool log_limit_pass(struct log_limit *limit, uint64_t now_ms);

#endif
