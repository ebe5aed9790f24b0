/*
 * status and allocations: what the master published and what the
 * workers recorded, read from the store in read-only transactions.
 */
#include "config.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "turnpike/net.h"
#include "turnpike/stun.h"
#include "ctl.h"

const char *ctl_format_duration(uint64_t seconds, char *buf, size_t size)
{
	uint64_t d = seconds / 86400, h = seconds / 3600 % 24,
	         m = seconds / 60 % 60, s = seconds % 60;

	if (d > 0)
		snprintf(buf, size,
		         "%" PRIu64 "d %02" PRIu64 "h %02" PRIu64 "m", d, h, m);
	else if (h > 0)
		snprintf(buf, size,
		         "%" PRIu64 "h %02" PRIu64 "m %02" PRIu64 "s", h, m, s);
	else if (m > 0)
		snprintf(buf, size, "%" PRIu64 "m %02" PRIu64 "s", m, s);
	else
		snprintf(buf, size, "%" PRIu64 "s", s);
	return buf;
}

const char *ctl_format_time(uint64_t wall, char *buf, size_t size)
{
	time_t t = (time_t)wall;
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, size, "%" PRIu64, wall);
	return buf;
}

static uint64_t since(uint64_t then, uint64_t now)
{
	return now > then ? now - then : 0;
}

/* ---- status ---------------------------------------------------------- */

static void add_worker(struct store_status_worker *total,
                       const struct store_status_worker *w)
{
	total->allocations += w->allocations;
	total->client_packets += w->client_packets;
	total->client_bytes += w->client_bytes;
	total->peer_packets += w->peer_packets;
	total->peer_bytes += w->peer_bytes;
	total->drops += w->drops;
	for (int level = 0; level < STORE_RATE_LEVELS; level++) {
		total->rate[level].passed += w->rate[level].passed;
		total->rate[level].delayed += w->rate[level].delayed;
		total->rate[level].dropped += w->rate[level].dropped;
	}
	total->rate_queue_dropped += w->rate_queue_dropped;
}

const char *const ctl_rate_level_names[STORE_RATE_LEVELS] = {
    "allocation",
    "user",
    "server",
};

void ctl_status_total(const struct store_status *s,
                      struct store_status_worker *total)
{
	memset(total, 0, sizeof(*total));
	for (uint32_t i = 0; i < s->worker_count; i++)
		add_worker(total, &s->workers[i]);
	add_worker(total, &s->exited);
}

static void print_rate_limits(const struct store_status_worker *total)
{
	printf("\nRATE LIMIT %10s %10s %10s\n", "PASSED", "DELAYED", "DROPPED");
	for (int level = 0; level < STORE_RATE_LEVELS; level++)
		printf("%-10s %10" PRIu64 " %10" PRIu64 " %10" PRIu64 "\n",
		       ctl_rate_level_names[level], total->rate[level].passed,
		       total->rate[level].delayed, total->rate[level].dropped);
	printf("queue full %10s %10s %10" PRIu64 "\n", "", "",
	       total->rate_queue_dropped);
}

static void print_worker_row(const char *label, const char *pid,
                             const char *generation, const char *state,
                             const struct store_status_worker *w)
{
	printf("%6s %8s %4s %-8s %11" PRIu64 " %13" PRIu64 " %15" PRIu64
	       " %13" PRIu64 " %15" PRIu64 " %9" PRIu64 "\n",
	       label, pid, generation, state, w->allocations, w->client_packets,
	       w->client_bytes, w->peer_packets, w->peer_bytes, w->drops);
}

static const char *worker_state(const struct store_status_worker *w)
{
	if (w->pid <= 0)
		return "waiting";
	return w->draining ? "draining" : "serving";
}

static void print_reload(const struct store_status *s)
{
	char when[64];

	if (s->last_reload_time == 0) {
		printf("last reload:   none\n");
		return;
	}
	ctl_format_time(s->last_reload_time, when, sizeof(when));
	if (s->last_reload_error[0] == '\0')
		printf("last reload:   %s, applied\n", when);
	else
		printf("last reload:   %s, refused: %s\n", when,
		       s->last_reload_error);
}

/* Workers have exited since turnpiked started and counted something. */
static bool has_exited(const struct store_status *s)
{
	static const struct store_status_worker none;

	return memcmp(&s->exited, &none, sizeof(none)) != 0;
}

static void print_status_text(const struct store_status *s)
{
	struct store_status_worker total;
	char up[64], started[64], label[16], pid[16], generation[24];
	uint64_t now = (uint64_t)time(NULL);
	bool waiting = false, draining = false;
	uint32_t i;

	printf("turnpiked:     running, master pid %ld, up %s (since %s)\n",
	       (long)s->master_pid,
	       ctl_format_duration(since(s->started, now), up, sizeof(up)),
	       ctl_format_time(s->started, started, sizeof(started)));
	printf("configuration: %s (generation %" PRIu64 ")\n", s->config_path,
	       s->generation);
	print_reload(s);
	printf("snapshot:      %" PRIu64 " s old\n\n", since(s->time, now));
	printf("%6s %8s %4s %-8s %11s %13s %15s %13s %15s %9s\n", "WORKER",
	       "PID", "GEN", "STATE", "ALLOCATIONS", "C>P PACKETS", "C>P BYTES",
	       "P>C PACKETS", "P>C BYTES", "DROPS");
	for (i = 0; i < s->worker_count; i++) {
		const struct store_status_worker *w = &s->workers[i];

		snprintf(label, sizeof(label), "%" PRIu32, w->index);
		snprintf(generation, sizeof(generation), "%" PRIu64,
		         w->generation);
		if (w->pid > 0)
			snprintf(pid, sizeof(pid), "%ld", (long)w->pid);
		else
			snprintf(pid, sizeof(pid), "-");
		waiting |= w->pid <= 0;
		draining |= w->draining;
		print_worker_row(label, pid, generation, worker_state(w), w);
	}
	if (has_exited(s))
		print_worker_row("exited", "", "", "", &s->exited);
	ctl_status_total(s, &total);
	print_worker_row("total", "", "", "", &total);
	printf("\nC>P: relayed from clients to peers; P>C: from peers to "
	       "clients.\n");
	print_rate_limits(&total);
	if (has_exited(s))
		printf("exited: what workers that have since exited (crashed, "
		       "or drained after a reload) counted.\n");
	if (waiting)
		printf("waiting: the worker is waiting to be restarted.\n");
	if (draining)
		printf("draining: of an older generation (a reload changed "
		       "listen or workers) or\nstopping gracefully; serves its "
		       "allocations until they end or drain-timeout.\n");
}

static void json_counters(struct json *json,
                          const struct store_status_worker *w)
{
	json_uint(json, "allocations", w->allocations);
	json_object_begin(json, "client_to_peer");
	json_uint(json, "packets", w->client_packets);
	json_uint(json, "bytes", w->client_bytes);
	json_object_end(json);
	json_object_begin(json, "peer_to_client");
	json_uint(json, "packets", w->peer_packets);
	json_uint(json, "bytes", w->peer_bytes);
	json_object_end(json);
	json_uint(json, "drops", w->drops);
	json_object_begin(json, "rate_limits");
	for (int level = 0; level < STORE_RATE_LEVELS; level++) {
		json_object_begin(json, ctl_rate_level_names[level]);
		json_uint(json, "passed", w->rate[level].passed);
		json_uint(json, "delayed", w->rate[level].delayed);
		json_uint(json, "dropped", w->rate[level].dropped);
		json_object_end(json);
	}
	json_uint(json, "queue_dropped", w->rate_queue_dropped);
	json_object_end(json);
}

static void json_reload(struct json *json, const struct store_status *s)
{
	json_uint(json, "reloads", s->reloads);
	if (s->last_reload_time == 0) {
		json_null(json, "last_reload");
		return;
	}
	json_object_begin(json, "last_reload");
	json_uint(json, "time", s->last_reload_time);
	json_bool(json, "applied", s->last_reload_error[0] == '\0');
	json_string(json, "error", s->last_reload_error);
	json_object_end(json);
}

static void json_workers(struct json *json, const struct store_status *s)
{
	struct store_status_worker total;
	uint32_t i;

	json_array_begin(json, "workers");
	for (i = 0; i < s->worker_count; i++) {
		json_object_begin(json, NULL);
		json_uint(json, "index", s->workers[i].index);
		if (s->workers[i].pid > 0)
			json_int(json, "pid", s->workers[i].pid);
		else
			json_null(json, "pid");
		json_uint(json, "generation", s->workers[i].generation);
		json_bool(json, "draining", s->workers[i].draining);
		json_counters(json, &s->workers[i]);
		json_object_end(json);
	}
	json_array_end(json);
	json_object_begin(json, "exited");
	json_counters(json, &s->exited);
	json_object_end(json);
	ctl_status_total(s, &total);
	json_object_begin(json, "total");
	json_counters(json, &total);
	json_object_end(json);
}

static void print_status_json(const struct store_status *s)
{
	uint64_t now = (uint64_t)time(NULL);
	struct json json;

	json_init(&json, stdout);
	json_object_begin(&json, NULL);
	json_bool(&json, "running", true);
	json_int(&json, "master_pid", s->master_pid);
	json_uint(&json, "started", s->started);
	json_uint(&json, "uptime", since(s->started, now));
	json_string(&json, "config", s->config_path);
	json_uint(&json, "generation", s->generation);
	json_uint(&json, "snapshot_time", s->time);
	json_uint(&json, "snapshot_age", since(s->time, now));
	json_reload(&json, s);
	json_workers(&json, s);
	json_object_end(&json);
	json_finish(&json);
}

int ctl_with_snapshot(struct ctl *ctl, const char *command,
                      int (*show)(const struct ctl *ctl,
                                  const struct store_status *status))
{
	struct ctl_master master;
	struct store *store;
	int rc;

	if (ctl->arg_count != 1)
		return ctl_usage_error("%s takes no argument", command);
	rc = ctl_master_find(ctl, &store, &master);
	if (rc == CTL_EXIT_NOT_RUNNING)
		return ctl_not_running(ctl, &master);
	if (rc != CTL_EXIT_OK)
		return rc;
	rc = show(ctl, master.status);
	ctl_master_release(&master);
	store_close(store);
	return rc;
}

static int show_status(const struct ctl *ctl, const struct store_status *s)
{
	if (ctl->json)
		print_status_json(s);
	else
		print_status_text(s);
	return CTL_EXIT_OK;
}

int ctl_cmd_status(struct ctl *ctl)
{
	return ctl_with_snapshot(ctl, "status", show_status);
}

/* ---- allocations ----------------------------------------------------- */

struct listing {
	const struct ctl *ctl;
	struct json json;
	uint64_t now;
	size_t count;
};

static const char *peer_format(const struct store_peer *peer, char *buf,
                               size_t size)
{
	if (inet_ntop(peer->family, peer->addr, buf, (socklen_t)size) == NULL)
		snprintf(buf, size, "?");
	return buf;
}

static const char *addr_format(const struct sockaddr_storage *ss, char *buf,
                               size_t size)
{
	return net_addr_format((const struct sockaddr *)ss, buf, size);
}

/* A user matches by name, or by quota key for REST credentials
 * ("expiry:user-id"). */
static bool wanted(const struct ctl *ctl, const struct store_allocation *a)
{
	return ctl->user == NULL || strcmp(a->username, ctl->user) == 0 ||
	       strcmp(a->quota_key, ctl->user) == 0;
}

static void print_lists_text(const struct store_allocation *a, uint64_t now)
{
	char text[NET_ADDRSTRLEN];
	const char *separator;
	unsigned live = 0, i;

	for (i = 0; i < a->peer_count; i++)
		live += a->peers[i].expires >= now;
	printf(" permissions %u", live);
	separator = " (";
	for (i = 0; i < a->peer_count; i++) {
		if (a->peers[i].expires < now)
			continue;
		printf("%s%s", separator,
		       peer_format(&a->peers[i], text, sizeof(text)));
		separator = ", ";
	}
	printf("%s", live > 0 ? ")" : "");
	live = 0;
	for (i = 0; i < a->channel_count; i++)
		live += a->channels[i].expires >= now;
	printf(" channels %u", live);
	separator = " (";
	for (i = 0; i < a->channel_count; i++) {
		if (a->channels[i].expires < now)
			continue;
		printf("%s0x%04x %s", separator, a->channels[i].number,
		       addr_format(&a->channels[i].peer, text, sizeof(text)));
		separator = ", ";
	}
	printf("%s", live > 0 ? ")" : "");
}

static void print_allocation_text(const struct store_allocation *a,
                                  uint64_t now)
{
	char client[NET_ADDRSTRLEN], listener[NET_ADDRSTRLEN];
	char relayed[NET_ADDRSTRLEN], age[32], left[32];
	int i;

	printf("%s %s %s -> %s relayed", a->username,
	       stun_transport_name(a->tuple.transport),
	       addr_format(&a->tuple.client, client, sizeof(client)),
	       addr_format(&a->tuple.listener, listener, sizeof(listener)));
	for (i = 0; i < 2; i++)
		if (a->relayed[i].ss_family != AF_UNSPEC)
			printf(" %s", addr_format(&a->relayed[i], relayed,
			                          sizeof(relayed)));
	printf(" worker %" PRIu32 " age %s expires-in %s", a->worker,
	       ctl_format_duration(since(a->created, now), age, sizeof(age)),
	       ctl_format_duration(since(now, a->expires), left, sizeof(left)));
	print_lists_text(a, now);
	putchar('\n');
}

static void json_lists(struct json *json, const struct store_allocation *a,
                       uint64_t now)
{
	char text[NET_ADDRSTRLEN];
	unsigned i;

	json_array_begin(json, "permissions");
	for (i = 0; i < a->peer_count; i++) {
		if (a->peers[i].expires < now)
			continue;
		json_object_begin(json, NULL);
		json_string(json, "address",
		            peer_format(&a->peers[i], text, sizeof(text)));
		json_uint(json, "expires_in", since(now, a->peers[i].expires));
		json_object_end(json);
	}
	json_array_end(json);
	json_array_begin(json, "channels");
	for (i = 0; i < a->channel_count; i++) {
		if (a->channels[i].expires < now)
			continue;
		json_object_begin(json, NULL);
		json_uint(json, "number", a->channels[i].number);
		json_string(
		    json, "peer",
		    addr_format(&a->channels[i].peer, text, sizeof(text)));
		json_uint(json, "expires_in",
		          since(now, a->channels[i].expires));
		json_object_end(json);
	}
	json_array_end(json);
}

static void json_allocation(struct json *json, const struct store_allocation *a,
                            uint64_t now)
{
	char text[NET_ADDRSTRLEN];
	int i;

	json_object_begin(json, NULL);
	json_string(json, "user", a->username);
	json_string(json, "quota_key", a->quota_key);
	json_string(json, "transport", stun_transport_name(a->tuple.transport));
	json_string(json, "client",
	            addr_format(&a->tuple.client, text, sizeof(text)));
	json_string(json, "listener",
	            addr_format(&a->tuple.listener, text, sizeof(text)));
	json_array_begin(json, "relayed");
	for (i = 0; i < 2; i++)
		if (a->relayed[i].ss_family != AF_UNSPEC)
			json_string(
			    json, NULL,
			    addr_format(&a->relayed[i], text, sizeof(text)));
	json_array_end(json);
	json_uint(json, "worker", a->worker);
	json_int(json, "pid", a->pid);
	json_uint(json, "created", a->created);
	json_uint(json, "age", since(a->created, now));
	json_uint(json, "expires", a->expires);
	json_uint(json, "expires_in", since(now, a->expires));
	json_lists(json, a, now);
	json_object_end(json);
}

static int list_one(const struct store_allocation *a, void *arg)
{
	struct listing *listing = arg;

	if (!wanted(listing->ctl, a))
		return 0;
	listing->count++;
	if (listing->ctl->json)
		json_allocation(&listing->json, a, listing->now);
	else
		print_allocation_text(a, listing->now);
	return 0;
}

int ctl_cmd_allocations(struct ctl *ctl)
{
	struct listing listing = {.ctl = ctl, .now = (uint64_t)time(NULL)};
	struct ctl_master master;
	struct store *store;
	int rc, err;

	if (ctl->arg_count != 1)
		return ctl_usage_error("allocations takes no argument but "
		                       "--user");
	/* The live tables mean something only while the master runs: it
	 * clears them at start and cleans up after dead workers. */
	rc = ctl_master_find(ctl, &store, &master);
	if (rc == CTL_EXIT_NOT_RUNNING)
		return ctl_not_running(ctl, &master);
	if (rc != CTL_EXIT_OK)
		return rc;
	ctl_master_release(&master);
	json_init(&listing.json, stdout);
	if (ctl->json) {
		json_object_begin(&listing.json, NULL);
		json_array_begin(&listing.json, "allocations");
	}
	err = store_allocation_foreach(store, list_one, &listing);
	store_close(store);
	if (ctl->json) {
		json_array_end(&listing.json);
		json_uint(&listing.json, "count", listing.count);
		json_object_end(&listing.json);
		json_finish(&listing.json);
	} else {
		printf("%zu allocation%s\n", listing.count,
		       listing.count == 1 ? "" : "s");
	}
	if (err != 0)
		return ctl_error("state directory %s: %s", ctl->state_dir,
		                 store_strerror(err));
	return CTL_EXIT_OK;
}
