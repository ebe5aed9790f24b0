/*
 * log: line format on stderr and in files, level filtering, rate-limited
 * lines and reopening after rotation. Each test runs in its own process,
 * so the log state of one does not leak into the next.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include "turnpike/log.h"

#define TIME_RE                                                                \
	"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z"

static char log_path[64];

static void temp_log(void)
{
	int fd;

	snprintf(log_path, sizeof(log_path), "/tmp/test_log.XXXXXX");
	fd = mkstemp(log_path);
	cr_assert_neq(fd, -1);
	close(fd);
}

static void remove_log(void)
{
	char rotated[80];

	unlink(log_path);
	snprintf(rotated, sizeof(rotated), "%s.1", log_path);
	unlink(rotated);
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = calloc(1, 65536);
	size_t len;

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	len = fread(text, 1, 65535, f);
	text[len] = '\0';
	fclose(f);
	return text;
}

static void open_file_log(int level)
{
	temp_log();
	cr_assert_eq(log_open("turnpiked", LOG_TARGET_FILE, log_path, level),
	             0);
}

/* The whole text of the log file is exactly these lines, each preceded by
 * a time stamp and "turnpiked[pid] ". */
static void assert_lines(const char *text, const char *const *lines)
{
	char pattern[4096] = "^", line_re[512];
	regex_t re;
	int rc;

	for (; *lines != NULL; lines++) {
		snprintf(line_re, sizeof(line_re),
		         TIME_RE " turnpiked\\[%ld\\] %s\n", (long)getpid(),
		         *lines);
		strcat(pattern, line_re);
	}
	strcat(pattern, "$");
	rc = regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB);
	cr_assert_eq(rc, 0, "bad pattern %s", pattern);
	cr_assert_eq(regexec(&re, text, 0, NULL, 0), 0,
	             "log:\n%s\ndoes not match\n%s", text, pattern);
	regfree(&re);
}

static void assert_file_lines(const char *const *lines)
{
	char *text = read_all(log_path);

	assert_lines(text, lines);
	free(text);
}

Test(log, file_line_has_utc_time_ident_pid_level_and_message,
     .fini = remove_log)
{
	open_file_log(LOG_INFO);
	log_info("hello %d", 42);
	assert_file_lines((const char *const[]){"info hello 42", NULL});
}

Test(log, process_name_goes_before_the_message, .fini = remove_log)
{
	open_file_log(LOG_INFO);
	log_set_process("worker 3");
	log_info("started");
	log_set_process(NULL);
	log_info("master again");
	assert_file_lines((const char *const[]){"info worker 3: started",
	                                        "info master again", NULL});
}

Test(log, file_is_appended_to_not_truncated, .fini = remove_log)
{
	FILE *f;

	temp_log();
	f = fopen(log_path, "w");
	fputs("old line\n", f);
	fclose(f);
	cr_assert_eq(log_open("turnpiked", LOG_TARGET_FILE, log_path, LOG_INFO),
	             0);
	log_info("new line");
	{
		char *text = read_all(log_path);

		cr_assert(strncmp(text, "old line\n", 9) == 0);
		assert_lines(text + 9,
		             (const char *const[]){"info new line", NULL});
		free(text);
	}
}

Test(log, stderr_lines_have_the_same_format, .fini = remove_log)
{
	int saved = dup(STDERR_FILENO), fd;

	temp_log();
	fd = open(log_path, O_WRONLY | O_APPEND);
	cr_assert_neq(fd, -1);
	dup2(fd, STDERR_FILENO);
	cr_assert_eq(log_open("turnpiked", LOG_TARGET_STDERR, NULL, LOG_DEBUG),
	             0);
	log_debug("on stderr");
	log_msg(LOG_NOTICE, "noticed");
	dup2(saved, STDERR_FILENO);
	close(fd);
	close(saved);
	assert_file_lines(
	    (const char *const[]){"debug on stderr", "notice noticed", NULL});
}

Test(log, lines_below_the_level_are_dropped, .fini = remove_log)
{
	open_file_log(LOG_NOTICE);
	log_debug("no");
	log_info("no");
	log_msg(LOG_INFO, "no");
	log_msg(LOG_NOTICE, "yes notice");
	log_msg(LOG_WARNING, "yes warning");
	log_warnx("yes error");
	log_set_level(LOG_DEBUG);
	cr_assert_eq(log_get_level(), LOG_DEBUG);
	log_debug("yes debug");
	log_set_level(LOG_ERR);
	log_msg(LOG_WARNING, "no");
	log_warnx("yes again");
	assert_file_lines((const char *const[]){
	    "notice yes notice", "warning yes warning", "error yes error",
	    "debug yes debug", "error yes again", NULL});
}

Test(log, log_warn_appends_strerror_and_keeps_errno, .fini = remove_log)
{
	open_file_log(LOG_INFO);
	errno = ENOENT;
	log_warn("open %s", "/x");
	cr_assert_eq(errno, ENOENT);
	log_warnx("plain");
	cr_assert_eq(errno, ENOENT);
	assert_file_lines((const char *const[]){
	    "error open /x error=\"No such file or directory\"", "error plain",
	    NULL});
}

Test(log, control_characters_are_written_as_question_marks, .fini = remove_log)
{
	open_file_log(LOG_INFO);
	log_info("user %s", "evil\nfake line\r\x1b[31m");
	assert_file_lines((const char *const[]){
	    "info user evil\\?fake line\\?\\?\\[31m", NULL});
}

Test(log, long_message_is_cut_to_one_line, .fini = remove_log)
{
	char *long_text = malloc(10000), *text;

	memset(long_text, 'x', 9999);
	long_text[9999] = '\0';
	open_file_log(LOG_INFO);
	log_info("%s", long_text);
	log_info("after");
	text = read_all(log_path);
	cr_assert_not_null(strstr(text, "xxx\n"));
	cr_assert_not_null(strstr(text, " info after\n"));
	cr_assert_eq(strchr(text, '\n') - text < 4096, 1);
	free(text);
	free(long_text);
}

/* --- key=value fields ---------------------------------------------------- */

static void assert_quoted(const char *value, const char *want)
{
	char buf[LOG_VALUE_MAX];

	cr_assert_str_eq(log_quote(value, buf, sizeof(buf)), want, "value [%s]",
	                 value != NULL ? value : "(null)");
}

Test(log, plain_values_are_written_as_they_are)
{
	assert_quoted("udp://127.0.0.1:3478", "udp://127.0.0.1:3478");
	assert_quoted("[2001:db8::1]:3478", "[2001:db8::1]:3478");
	assert_quoted("/var/lib/turnpike", "/var/lib/turnpike");
	assert_quoted("caf\xc3\xa9'x", "caf\xc3\xa9'x");
}

/* Without quotes a reader could not tell where such a value ends, or
 * would read a second field into it. */
Test(log, values_with_blanks_quotes_or_equals_are_quoted)
{
	assert_quoted("No such file", "\"No such file\"");
	assert_quoted("a\tb", "\"a\tb\"");
	assert_quoted("user=admin", "\"user=admin\"");
	assert_quoted("", "\"\"");
	assert_quoted(NULL, "\"\"");
}

Test(log, quotes_and_backslashes_inside_quotes_are_escaped)
{
	assert_quoted("say \"hi\"", "\"say \\\"hi\\\"\"");
	assert_quoted("C:\\dir x", "\"C:\\\\dir x\"");
	/* A lone quote makes the value quoted, so it cannot end a field. */
	assert_quoted("x\"", "\"x\\\"\"");
}

Test(log, a_cut_value_still_ends_inside_its_quotes)
{
	char buf[8];

	cr_assert_str_eq(log_quote("a b c d e f", buf, sizeof(buf)),
	                 "\"a b c\"");
	/* Never half an escape pair. */
	cr_assert_str_eq(log_quote("ab \"\"\"\"", buf, sizeof(buf)),
	                 "\"ab \\\"\"");
	cr_assert_str_eq(log_quote("x y", buf, 2), "");
}

Test(log, quoted_fields_in_a_line_with_control_characters, .fini = remove_log)
{
	open_file_log(LOG_INFO);
	log_info("reload refused error=%s path=%s",
	         LOG_QUOTED("t.conf:2: unknown key 'relm'"),
	         LOG_QUOTED("evil\nuser=root"));
	assert_file_lines((const char *const[]){
	    "info reload refused error=\"t.conf:2: unknown key 'relm'\" "
	    "path=\"evil\\?user=root\"",
	    NULL});
}

Test(log, level_names_parse_to_syslog_levels)
{
	cr_assert_eq(log_level_parse("error"), LOG_ERR);
	cr_assert_eq(log_level_parse("warning"), LOG_WARNING);
	cr_assert_eq(log_level_parse("notice"), LOG_NOTICE);
	cr_assert_eq(log_level_parse("info"), LOG_INFO);
	cr_assert_eq(log_level_parse("debug"), LOG_DEBUG);
	cr_assert_eq(log_level_parse("warn"), -1);
	cr_assert_eq(log_level_parse("crit"), -1);
	cr_assert_eq(log_level_parse(""), -1);
	cr_assert_eq(log_level_parse("INFO"), -1);
}

Test(log, fatalx_exits_with_status_1, .exit_code = 1)
{
	cr_redirect_stderr();
	fatalx("cannot go on");
}

Test(log, fatal_exits_with_status_1, .exit_code = 1)
{
	cr_redirect_stderr();
	errno = EACCES;
	fatal("bind");
}

Test(log, fatal_writes_its_line_before_exiting, .fini = remove_log)
{
	pid_t pid;
	int status;

	open_file_log(LOG_INFO);
	if ((pid = fork()) == 0) {
		errno = EACCES;
		fatal("bind %d", 3478);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	{
		char *text = read_all(log_path);
		char expected[128];

		snprintf(expected, sizeof(expected),
		         " turnpiked[%ld] crit bind 3478 error=\"Permission "
		         "denied\"\n",
		         (long)pid);
		cr_assert_not_null(strstr(text, expected), "%s", text);
		free(text);
	}
}

Test(log, limit_passes_the_burst_then_one_line_per_interval)
{
	struct log_limit limit = LOG_LIMIT_INIT(2, 1000);

	cr_assert(log_limit_pass(&limit, 5000));
	cr_assert(log_limit_pass(&limit, 5000));
	cr_assert(!log_limit_pass(&limit, 5010));
	cr_assert(!log_limit_pass(&limit, 5999));
	cr_assert(log_limit_pass(&limit, 6000));
	cr_assert(!log_limit_pass(&limit, 6001));
	cr_assert_eq(limit.suppressed, 3);
}

Test(log, limit_refills_at_most_the_burst_after_a_quiet_time)
{
	struct log_limit limit = LOG_LIMIT_INIT(2, 1000);

	cr_assert(log_limit_pass(&limit, 0));
	cr_assert(log_limit_pass(&limit, 0));
	cr_assert(!log_limit_pass(&limit, 1));
	/* Ten intervals later: a full bucket of two, not ten. */
	cr_assert(log_limit_pass(&limit, 10000));
	cr_assert(log_limit_pass(&limit, 10000));
	cr_assert(!log_limit_pass(&limit, 10000));
	cr_assert(log_limit_pass(&limit, 11000));
}

Test(log, limited_lines_report_how_many_were_suppressed, .fini = remove_log)
{
	struct log_limit limit = LOG_LIMIT_INIT(3, 3600 * 1000);

	open_file_log(LOG_INFO);
	for (int i = 0; i < 10; i++)
		log_limited(&limit, LOG_NOTICE, "bad packet %d", i);
	cr_assert_eq(limit.suppressed, 7);
	/* Instead of sleeping an hour, move the bucket's clock back. */
	limit.next_ms -= limit.interval_ms;
	log_limited(&limit, LOG_NOTICE, "bad packet %d", 10);
	cr_assert_eq(limit.suppressed, 0);
	assert_file_lines((const char *const[]){
	    "notice bad packet 0", "notice bad packet 1", "notice bad packet 2",
	    "notice bad packet 10 suppressed=7", NULL});
}

Test(log, limited_lines_below_the_level_spend_no_token, .fini = remove_log)
{
	struct log_limit limit = LOG_LIMIT_INIT(1, 3600 * 1000);

	open_file_log(LOG_INFO);
	log_limited(&limit, LOG_DEBUG, "filtered");
	cr_assert_eq(limit.suppressed, 0);
	log_limited(&limit, LOG_INFO, "passes");
	assert_file_lines((const char *const[]){"info passes", NULL});
}

Test(log, take_then_write_counts_as_one_limited_line, .fini = remove_log)
{
	struct log_limit limit = LOG_LIMIT_INIT(1, 3600 * 1000);

	open_file_log(LOG_INFO);
	/* Below the level: refused without a token or a count. */
	cr_assert_not(log_limit_take(&limit, LOG_DEBUG));
	cr_assert_eq(limit.suppressed, 0);
	cr_assert(log_limit_take(&limit, LOG_INFO));
	log_limit_write(&limit, LOG_INFO, "first %d", 1);
	cr_assert_not(log_limit_take(&limit, LOG_INFO));
	cr_assert_not(log_limit_take(&limit, LOG_INFO));
	cr_assert_eq(limit.suppressed, 2);
	limit.next_ms -= limit.interval_ms;
	cr_assert(log_limit_take(&limit, LOG_INFO));
	log_limit_write(&limit, LOG_INFO, "again");
	cr_assert_eq(limit.suppressed, 0);
	assert_file_lines((const char *const[]){
	    "info first 1", "info again suppressed=2", NULL});
}

Test(log, reopen_after_rename_writes_to_a_new_file, .fini = remove_log)
{
	char rotated[80];
	char *text;

	open_file_log(LOG_INFO);
	log_info("before rotation");
	snprintf(rotated, sizeof(rotated), "%s.1", log_path);
	cr_assert_eq(rename(log_path, rotated), 0);
	log_info("still to the renamed file");
	cr_assert_eq(log_reopen(), 0);
	log_info("after rotation");
	assert_file_lines((const char *const[]){"info after rotation", NULL});
	text = read_all(rotated);
	assert_lines(text, (const char *const[]){
	                       "info before rotation",
	                       "info still to the renamed file", NULL});
	free(text);
}

Test(log, reopen_failure_keeps_the_old_file, .fini = remove_log)
{
	char dir[] = "/tmp/test_log_dir.XXXXXX";
	char path[64];

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/log", dir);
	cr_assert_eq(log_open("turnpiked", LOG_TARGET_FILE, path, LOG_INFO), 0);
	unlink(path);
	rmdir(dir);
	cr_assert_eq(log_reopen(), ENOENT);
	log_info("to the old descriptor"); /* must not crash */
}

Test(log, reopen_is_a_no_op_for_stderr_and_syslog)
{
	cr_assert_eq(log_open("turnpiked", LOG_TARGET_STDERR, NULL, LOG_INFO),
	             0);
	cr_assert_eq(log_reopen(), 0);
	cr_assert_eq(log_open("turnpiked", LOG_TARGET_SYSLOG, NULL, LOG_ERR),
	             0);
	cr_assert_eq(log_reopen(), 0);
	cr_assert_eq(log_get_level(), LOG_ERR);
}

Test(log, unopenable_file_returns_errno_and_falls_back_to_stderr,
     .fini = remove_log)
{
	int saved = dup(STDERR_FILENO), fd;

	temp_log();
	fd = open(log_path, O_WRONLY | O_APPEND);
	dup2(fd, STDERR_FILENO);
	cr_assert_eq(log_open("turnpiked", LOG_TARGET_FILE,
	                      "/nonexistent/dir/turnpike.log", LOG_INFO),
	             ENOENT);
	log_info("to stderr");
	dup2(saved, STDERR_FILENO);
	close(fd);
	close(saved);
	assert_file_lines((const char *const[]){"info to stderr", NULL});
}
