/*
 * turnpikectl revoke, in the worker: once a second the worker reads the
 * store's revocation count, and when it moved, ends every allocation of a
 * revoked user made up to the revocation (reason "revoked" in its log
 * line). The store's list is copied first: ending an allocation writes
 * the store, which a read transaction still open would not allow.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "turnpike/log.h"
#include "turnpike/store.h"
#include "allocation.h"

struct revocation {
	char name[STORE_NAME_MAX];
	uint64_t when; /* wall-clock seconds */
};

struct revocation_list {
	struct revocation *items;
	size_t count, capacity;
};

static int copy_revocation(const char *name, uint64_t when, void *arg)
{
	struct revocation_list *list = arg;
	struct revocation *grown;

	if (list->count == list->capacity) {
		size_t capacity = list->capacity > 0 ? list->capacity * 2 : 8;

		grown = realloc(list->items, capacity * sizeof(*grown));
		if (grown == NULL)
			return ENOMEM;
		list->items = grown;
		list->capacity = capacity;
	}
	snprintf(list->items[list->count].name,
	         sizeof(list->items[list->count].name), "%s", name);
	list->items[list->count++].when = when;
	return 0;
}

/* One revocation applied to the worker's allocations. */
struct revoking {
	const struct revocation *revocation;
	size_t ended;
};

static void end_if_revoked(struct allocation *a, void *arg)
{
	struct revoking *r = arg;

	if (!store_revocation_matches(r->revocation->name, a->owner.username,
	                              a->owner.quota_key) ||
	    a->created_wall > r->revocation->when)
		return;
	allocation_free(a, ALLOCATION_REVOKED);
	r->ended++;
}

static void end_allocations_of(struct worker *worker,
                               const struct revocation *revocation)
{
	struct revoking r = {revocation, 0};

	allocation_table_each(worker, end_if_revoked, &r);
	if (r.ended > 0)
		log_msg(LOG_NOTICE,
		        "allocations revoked user=%s allocations=%zu",
		        LOG_QUOTED(revocation->name), r.ended);
}

void worker_apply_revocations(struct worker *worker)
{
	static struct log_limit error_limit = LOG_LIMIT_INIT(1, 60000);
	struct revocation_list list = {0};
	uint64_t seq;
	size_t i;
	int err;

	if (worker->store == NULL)
		return;
	err = store_revocation_seq(worker->store, &seq);
	if (err == 0 && seq == worker->revocation_seq)
		return;
	if (err == 0)
		err = store_revocation_foreach(worker->store, copy_revocation,
		                               &list);
	if (err != 0) {
		/* Tried again at the next tick. */
		log_limited(&error_limit, LOG_ERR,
		            "revocations unreadable error=%s",
		            LOG_QUOTED(store_strerror(err)));
	} else {
		for (i = 0; i < list.count; i++)
			end_allocations_of(worker, &list.items[i]);
		worker->revocation_seq = seq;
	}
	free(list.items);
}
