/*
 * An allocation's record in the store: what the other workers need to
 * refuse its 5-tuple and count its quota, and what turnpikectl shows.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "turnpike/log.h"
#include "turnpike/net.h"
#include "turnpike/store.h"
#include "allocation.h"
#include "stream.h"

static struct log_limit store_log_limit = LOG_LIMIT_INIT(5, 10000);

/* Monotonic seconds (lifetimes) to wall-clock seconds (the record). */
static uint64_t wall_time(uint64_t monotonic, uint64_t now, uint64_t wall)
{
	return monotonic >= now ? wall + (monotonic - now) : wall;
}

static void record_tuple(const struct allocation *a,
                         struct store_five_tuple *tuple)
{
	memset(tuple, 0, sizeof(*tuple));
	tuple->transport = a->client_socket.stream != NULL
	                       ? stream_transport(a->client_socket.stream)
	                       : STUN_TRANSPORT_UDP;
	memcpy(&tuple->client, &a->client, sizeof(tuple->client));
	memcpy(&tuple->listener, &a->client_socket.local,
	       sizeof(tuple->listener));
}

static void record_peers(const struct allocation *a, struct store_allocation *r,
                         uint64_t now, uint64_t wall)
{
	uint16_t i;

	for (i = 0; i < a->turn.permission_count && i < STORE_MAX_PEERS; i++) {
		const struct turn_permission *p = &a->turn.permissions[i];

		r->peers[i].family = p->ip.family;
		memcpy(r->peers[i].addr, p->ip.bytes, sizeof(r->peers[i].addr));
		r->peers[i].expires = wall_time(p->expires, now, wall);
	}
	r->peer_count = i;
	for (i = 0; i < a->turn.channel_count && i < STORE_MAX_CHANNELS; i++) {
		const struct turn_channel *c = &a->turn.channels[i];

		r->channels[r->channel_count].number = c->number;
		memcpy(&r->channels[r->channel_count].peer, &c->peer,
		       sizeof(c->peer));
		r->channels[r->channel_count].expires =
		    wall_time(c->expires, now, wall);
		r->channel_count += c->bound;
	}
}

static void record_build(const struct allocation *a, struct store_allocation *r)
{
	uint64_t now = worker_now(), wall = worker_wall_now();

	memset(r, 0, sizeof(*r));
	record_tuple(a, &r->tuple);
	snprintf(r->username, sizeof(r->username), "%s", a->owner.username);
	snprintf(r->quota_key, sizeof(r->quota_key), "%s", a->owner.quota_key);
	r->worker = a->worker->index;
	r->pid = getpid();
	memcpy(r->relayed, a->relayed, sizeof(r->relayed));
	r->created = a->created_wall;
	r->expires = wall_time(a->turn.expires, now, wall);
	record_peers(a, r, now, wall);
}

int allocation_record_add(struct allocation *a)
{
	struct store_allocation record;
	struct store_limits limits = {
	    .user_quota = a->worker->conf->user_quota,
	    .total_quota = a->worker->conf->total_quota,
	};
	int err;

	record_build(a, &record);
	err = store_allocation_add(a->worker->store, &record, &limits);
	switch (err) {
	case 0:
		return 0;
	case EEXIST: /* RFC 8656 §7.2: another worker holds the 5-tuple */
		return 437;
	case EDQUOT: /* RFC 8656 §7.2 item 10 */
		return 486;
	default:
		log_limited(&store_log_limit, LOG_ERR,
		            "store add failed error=%s",
		            LOG_QUOTED(store_strerror(err)));
		return 500;
	}
}

void allocation_record_update(struct allocation *a)
{
	struct store_allocation record;
	int err;

	record_build(a, &record);
	err = store_allocation_update(a->worker->store, &record);
	if (err != 0)
		log_limited(&store_log_limit, LOG_ERR,
		            "store update failed error=%s",
		            LOG_QUOTED(store_strerror(err)));
}

void allocation_record_delete(struct allocation *a)
{
	struct store_five_tuple tuple;
	int err;

	record_tuple(a, &tuple);
	err = store_allocation_delete(a->worker->store, &tuple);
	if (err != 0 && err != ENOENT)
		log_limited(&store_log_limit, LOG_ERR,
		            "store delete failed error=%s",
		            LOG_QUOTED(store_strerror(err)));
}
