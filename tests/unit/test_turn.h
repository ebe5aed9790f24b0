/* Helpers shared by the turn module's test files. */
#ifndef TEST_TURN_H
#define TEST_TURN_H

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "turnpike/turn.h"

#define SA(x) ((const struct sockaddr *)&(x))

static inline struct sockaddr_storage addr(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(port);
	} else {
		cr_assert_eq(inet_pton(AF_INET6, ip, &v6->sin6_addr), 1, "%s",
		             ip);
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(port);
	}
	return ss;
}

/* 600 s by default, at most 3600, an IPv4 relay address only. */
static inline struct conf test_conf(void)
{
	struct conf conf;

	memset(&conf, 0, sizeof(conf));
	conf.default_lifetime = 600;
	conf.max_lifetime = 3600;
	conf.relay_v4 = addr("203.0.113.10", 0);
	conf.has_relay_v4 = true;
	return conf;
}

#endif
