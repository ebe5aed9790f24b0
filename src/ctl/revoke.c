/*
 * revoke USER: ends every live allocation of a user now, in every worker
 * (src/worker/revocations.c), rather than when its lifetime runs out.
 * Written to the live environment of the store; each worker looks once a
 * second. Waits until the user's allocations made up to the revocation
 * have left the store.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

struct revoked_count {
	const char *user;
	uint64_t until; /* made up to this wall-clock second */
	size_t count;
};

static int count_revoked(const struct store_allocation *a, void *arg)
{
	struct revoked_count *c = arg;

	if (store_revocation_matches(c->user, a->username, a->quota_key) &&
	    a->created <= c->until)
		c->count++;
	return 0;
}

/* The user's allocations still in the store; ENOENT-free errno. */
static int revoked_left(struct store *store, struct revoked_count *c)
{
	c->count = 0;
	return store_allocation_foreach(store, count_revoked, c);
}

static void report(const struct ctl *ctl, const char *user, size_t ended)
{
	struct json json;

	if (!ctl->json) {
		printf("%s: %zu allocation%s ended\n", user, ended,
		       ended == 1 ? "" : "s");
		return;
	}
	json_init(&json, stdout);
	json_object_begin(&json, NULL);
	json_string(&json, "user", user);
	json_uint(&json, "ended", ended);
	json_object_end(&json);
	putchar('\n');
}

int ctl_cmd_revoke(struct ctl *ctl)
{
	struct revoked_count c;
	struct store *store;
	size_t ended;
	int rc, err, tries;

	if (ctl->arg_count != 2)
		return ctl_usage_error("revoke wants a user");
	c = (struct revoked_count){ctl->args[1], (uint64_t)time(NULL), 0};
	rc = ctl_store_open(ctl, 0, &store);
	if (rc != CTL_EXIT_OK)
		return rc;
	/* Counted right after: the workers look only once a second. */
	if ((err = store_revoke(store, c.user, c.until)) != 0 ||
	    (err = revoked_left(store, &c)) != 0) {
		store_close(store);
		return ctl_error("revoke %s: %s", c.user,
		                 err == EINVAL
		                     ? "not a user name (empty or too "
		                       "long)"
		                     : store_strerror(err));
	}
	ended = c.count;
	/* A few seconds more than one for a busy worker. */
	for (tries = 0; tries < CTL_WAIT_SECONDS * 10 && c.count > 0; tries++) {
		usleep(100 * 1000);
		if ((err = revoked_left(store, &c)) != 0)
			break;
	}
	store_close(store);
	if (err != 0)
		return ctl_error("revoke %s: %s", c.user, store_strerror(err));
	if (c.count > 0)
		return ctl_error("revoke %s: %zu allocations still live after "
		                 "%d s (is turnpiked running?)",
		                 c.user, c.count, CTL_WAIT_SECONDS);
	report(ctl, c.user, ended);
	return CTL_EXIT_OK;
}
