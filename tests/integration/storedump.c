/*
 * storedump: prints the live allocations of a state directory, one line
 * each, for the integration tests ("worker=N user=U key=K client=A").
 * turnpikectl will do this for operators; the tests need it first.
 */
#include "config.h"

#include <stdio.h>

#include "turnpike/net.h"
#include "turnpike/store.h"

static int print_one(const struct store_allocation *a, void *arg)
{
	char client[NET_ADDRSTRLEN];

	(void)arg;
	printf("worker=%u pid=%ld user=%s key=%s client=%s transport=%u\n",
	       a->worker, (long)a->pid, a->username, a->quota_key,
	       net_addr_format((const struct sockaddr *)&a->tuple.client,
	                       client, sizeof(client)),
	       a->tuple.transport);
	return 0;
}

int main(int argc, char **argv)
{
	struct store *store;
	int err;

	if (argc != 2) {
		fprintf(stderr, "usage: storedump STATE-DIR\n");
		return 2;
	}
	err = store_open(argv[1], STORE_READ_ONLY, &store);
	if (err == 0)
		err = store_allocation_foreach(store, print_one, NULL);
	if (err != 0) {
		fprintf(stderr, "storedump: %s: %s\n", argv[1],
		        store_strerror(err));
		return 1;
	}
	store_close(store);
	return 0;
}
