/*
 * Helpers shared by the conf module's test files (test_conf*.c, one
 * program), defined in test_conf.c. Every text is parsed as the file
 * "t.conf".
 */
#ifndef TEST_CONF_H
#define TEST_CONF_H

#include <stdint.h>
#include <sys/socket.h>

#include "turnpike/conf.h"

/* The message of the last conf_parse() or conf_load() a test made. */
extern char conf_err[1024];

/* text parses; the conf is the caller's to free. */
struct conf *parse_ok(const char *text);
/* One key = value line that must parse. */
struct conf *parse_key(const char *key, const char *value);
/* text is refused with exactly the message expected. */
void assert_error(const char *text, const char *expected);
/* key = value is refused with one line "t.conf:1: key ...". */
void assert_bad(const char *key, const char *value);
/* assert_bad() for each of values, a NULL-terminated list. */
void assert_bad_values(const char *key, const char *const *values);
/* addr holds ip (text, as inet_ntop writes it) and port. */
void assert_address(const struct sockaddr_storage *addr, const char *ip,
                    uint16_t port);

#endif
