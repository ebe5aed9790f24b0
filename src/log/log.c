/*
 * log: one line per event to syslog, stderr or a file.
 *
 * The state is per process (each worker logs for itself), so it lives in
 * this file rather than being passed around. Every line is written with one
 * write(2) so that lines of several workers appending to the same file do
 * not interleave.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "turnpike/log.h"

#define LOG_NAME_MAX 64
#define LOG_MSG_MAX  2048
#define LOG_LINE_MAX (LOG_MSG_MAX + 256)

static struct {
	enum log_target_kind target;
	int level;
	int fd; /* LOG_TARGET_FILE */
	char *path;
	char ident[LOG_NAME_MAX]; /* openlog() keeps the pointer */
	char process[LOG_NAME_MAX];
} log_state = {LOG_TARGET_STDERR, LOG_INFO, -1, NULL, "turnpike", ""};

static const char *const level_names[] = {
    [LOG_EMERG] = "emerg", [LOG_ALERT] = "alert",     [LOG_CRIT] = "crit",
    [LOG_ERR] = "error",   [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
    [LOG_INFO] = "info",   [LOG_DEBUG] = "debug",
};

static void log_close(void)
{
	if (log_state.target == LOG_TARGET_SYSLOG)
		closelog();
	if (log_state.fd != -1)
		close(log_state.fd);
	log_state.fd = -1;
	free(log_state.path);
	log_state.path = NULL;
}

static int log_file_open(const char *path, int *fd)
{
	*fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	return *fd == -1 ? errno : 0;
}

int log_open(const char *ident, enum log_target_kind target, const char *file,
             int level)
{
	int fd, rc = 0;

	log_close();
	snprintf(log_state.ident, sizeof(log_state.ident), "%s",
	         ident != NULL ? ident : "turnpike");
	log_state.level = level;
	log_state.target = target;
	if (target == LOG_TARGET_SYSLOG) {
		/* LOG_NDELAY: connect to /dev/log now, before a chroot or a
		 * sandbox could hide it. */
		openlog(log_state.ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
		return 0;
	}
	if (target != LOG_TARGET_FILE)
		return 0;
	if (file == NULL)
		rc = EINVAL;
	else if ((log_state.path = strdup(file)) == NULL)
		rc = ENOMEM;
	else
		rc = log_file_open(file, &fd);
	if (rc != 0) {
		free(log_state.path);
		log_state.path = NULL;
		log_state.target = LOG_TARGET_STDERR;
		return rc;
	}
	log_state.fd = fd;
	return 0;
}

int log_reopen(void)
{
	int fd, rc;

	if (log_state.target != LOG_TARGET_FILE)
		return 0;
	/* Open first: if that fails the old file keeps the lines. */
	if ((rc = log_file_open(log_state.path, &fd)) != 0)
		return rc;
	close(log_state.fd);
	log_state.fd = fd;
	return 0;
}

void log_set_level(int level)
{
	log_state.level = level;
}

int log_get_level(void)
{
	return log_state.level;
}

int log_level_parse(const char *name)
{
	static const int levels[] = {LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO,
	                             LOG_DEBUG};

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcmp(name, level_names[levels[i]]) == 0)
			return levels[i];
	return -1;
}

void log_set_process(const char *name)
{
	snprintf(log_state.process, sizeof(log_state.process), "%s",
	         name != NULL ? name : "");
}

static bool needs_quotes(const char *value)
{
	const unsigned char *c = (const unsigned char *)value;

	if (*c == '\0')
		return true;
	for (; *c != '\0'; c++)
		if (*c <= ' ' || *c == 0x7f || *c == '"' || *c == '=')
			return true;
	return false;
}

const char *log_quote(const char *value, char *buf, size_t size)
{
	size_t len = 0;

	if (size < 3) {
		if (size > 0)
			buf[0] = '\0';
		return buf;
	}
	if (value == NULL)
		value = "";
	if (!needs_quotes(value)) {
		snprintf(buf, size, "%s", value);
		return buf;
	}
	buf[len++] = '"';
	/* Room is kept for the closing quote and the NUL, and an escape
	 * pair is never split: a cut value still ends as a quoted string. */
	for (; *value != '\0'; value++) {
		bool escape = *value == '"' || *value == '\\';

		if (len + (escape ? 2 : 1) + 2 > size)
			break;
		if (escape)
			buf[len++] = '\\';
		buf[len++] = *value;
	}
	buf[len++] = '"';
	buf[len] = '\0';
	return buf;
}

/* Control characters (from client data in a message) would forge lines. */
static void sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static size_t timestamp(char *buf, size_t size)
{
	struct timespec now;
	struct tm tm;
	size_t len;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	len = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	len +=
	    snprintf(buf + len, size - len, ".%03ldZ", now.tv_nsec / 1000000);
	return len;
}

static void write_line(int fd, int level, const char *msg)
{
	char line[LOG_LINE_MAX];
	size_t len;
	int n;

	len = timestamp(line, sizeof(line));
	n = snprintf(line + len, sizeof(line) - len, " %s[%ld] %s %s%s%s\n",
	             log_state.ident, (long)getpid(), level_names[level],
	             log_state.process,
	             log_state.process[0] != '\0' ? ": " : "", msg);
	if (n < 0)
		return;
	len += n;
	if (len >= sizeof(line)) {
		len = sizeof(line) - 1;
		line[len - 1] = '\n';
	}
	/* Nothing sensible is left to do when the log cannot be written. */
	if (write(fd, line, len) < 0)
		return;
}

static void emit(int level, const char *msg)
{
	int fd;

	if (level < LOG_EMERG || level > LOG_DEBUG)
		level = LOG_ERR;
	if (log_state.target == LOG_TARGET_SYSLOG) {
		if (log_state.process[0] != '\0')
			syslog(level, "%s: %s", log_state.process, msg);
		else
			syslog(level, "%s", msg);
		return;
	}
	fd = log_state.target == LOG_TARGET_FILE ? log_state.fd : STDERR_FILENO;
	write_line(fd, level, msg);
}

/*
 * Formats and writes one line. errnum >= 0 appends ": strerror(errnum)";
 * suppressed > 0 appends the count of lines log_limited() held back.
 */
static void __attribute__((format(printf, 4, 0)))
log_vlog(int level, int errnum, uint64_t suppressed, const char *fmt,
         va_list ap)
{
	char msg[LOG_MSG_MAX];
	size_t len;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	len = strlen(msg);
	if (errnum >= 0 && len < sizeof(msg))
		len += snprintf(msg + len, sizeof(msg) - len, " error=%s",
		                LOG_QUOTED(strerror(errnum)));
	if (suppressed > 0 && len < sizeof(msg))
		snprintf(msg + len, sizeof(msg) - len, " suppressed=%llu",
		         (unsigned long long)suppressed);
	sanitize(msg);
	emit(level, msg);
}

void log_msg(int level, const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	if (level > log_state.level)
		return;
	va_start(ap, fmt);
	log_vlog(level, -1, 0, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

/* As OpenBSD's log.c: log_warn and log_warnx are errors; log_msg() with
 * LOG_WARNING is a warning. */
void log_warn(const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	if (LOG_ERR > log_state.level)
		return;
	va_start(ap, fmt);
	log_vlog(LOG_ERR, saved_errno, 0, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

void log_warnx(const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	if (LOG_ERR > log_state.level)
		return;
	va_start(ap, fmt);
	log_vlog(LOG_ERR, -1, 0, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

void log_info(const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	if (LOG_INFO > log_state.level)
		return;
	va_start(ap, fmt);
	log_vlog(LOG_INFO, -1, 0, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

void log_debug(const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	if (LOG_DEBUG > log_state.level)
		return;
	va_start(ap, fmt);
	log_vlog(LOG_DEBUG, -1, 0, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

void fatal(const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_CRIT, saved_errno, 0, fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_CRIT, -1, 0, fmt, ap);
	va_end(ap);
	exit(1);
}

bool log_limit_pass(struct log_limit *limit, uint64_t now_ms)
{
	uint32_t burst = limit->burst > 0 ? limit->burst : 1;
	uint64_t refill;

	/* One token back per interval since next_ms, up to the burst. */
	if (limit->tokens < burst && now_ms >= limit->next_ms) {
		refill =
		    limit->interval_ms > 0
		        ? (now_ms - limit->next_ms) / limit->interval_ms + 1
		        : burst;
		if (refill >= burst - limit->tokens)
			limit->tokens = burst;
		else
			limit->tokens += refill;
		limit->next_ms += refill * limit->interval_ms;
	}
	if (limit->tokens == 0) {
		limit->suppressed++;
		return false;
	}
	/* Leaving a full bucket starts the refill clock. */
	if (limit->tokens >= burst)
		limit->next_ms = now_ms + limit->interval_ms;
	limit->tokens--;
	return true;
}

static uint64_t monotonic_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

bool log_limit_take(struct log_limit *limit, int level)
{
	/* Filtered lines neither spend tokens nor count as suppressed. */
	return level <= log_state.level &&
	       log_limit_pass(limit, monotonic_ms());
}

static void limited_vwrite(struct log_limit *limit, int level, const char *fmt,
                           va_list ap)
{
	uint64_t suppressed = limit->suppressed;

	limit->suppressed = 0;
	log_vlog(level, -1, suppressed, fmt, ap);
}

void log_limit_write(struct log_limit *limit, int level, const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	va_start(ap, fmt);
	limited_vwrite(limit, level, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

void log_limited(struct log_limit *limit, int level, const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	if (!log_limit_take(limit, level))
		return;
	va_start(ap, fmt);
	limited_vwrite(limit, level, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}
