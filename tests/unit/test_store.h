/* Helpers shared by the store module's test files: each test gets its
 * own environment in a fresh directory under /tmp, removed afterwards. */
#ifndef TEST_STORE_H
#define TEST_STORE_H

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/store.h"

static char dir[64];
static struct store *store;

static inline int remove_entry(const char *path, const struct stat *st,
                               int flag, struct FTW *ftw)
{
	return remove(path);
}

static inline void setup(void)
{
	strcpy(dir, "/tmp/turnpike-store-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(store_open(dir, 0, &store), 0);
}

static inline void teardown(void)
{
	store_close(store);
	nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static inline struct sockaddr_storage addr(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':') != NULL) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		cr_assert_eq(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
	} else {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		cr_assert_eq(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
	}
	return ss;
}

/* An allocation of quota_key from client_ip:port to the listener. */
static inline struct store_allocation alloc(const char *client_ip,
                                            uint16_t port,
                                            const char *quota_key,
                                            uint32_t worker)
{
	struct store_allocation a;

	memset(&a, 0, sizeof(a));
	a.tuple.transport = 17;
	a.tuple.client = addr(client_ip, port);
	a.tuple.listener =
	    addr(strchr(client_ip, ':') ? "::1" : "127.0.0.1", 3478);
	snprintf(a.username, sizeof(a.username), "%s", quota_key);
	snprintf(a.quota_key, sizeof(a.quota_key), "%s", quota_key);
	a.worker = worker;
	a.pid = 1000 + (pid_t)worker;
	a.relayed[0] = addr("127.0.0.1", 50000);
	a.created = 1700000000;
	a.expires = a.created + 600;
	return a;
}

static inline uint32_t count_of(const char *quota_key)
{
	uint32_t n = 99;

	cr_assert_eq(store_allocation_count(store, quota_key, &n), 0);
	return n;
}

static inline uint32_t total(void)
{
	uint32_t n = 99;

	cr_assert_eq(store_allocation_total(store, &n), 0);
	return n;
}

static const struct store_limits unlimited = {0, 0};

#endif
